"""``plmprof run``: one headless run with a live status line, a summary table and exports."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.markup import escape

from engines.errors import InvalidInputError, PlmprofError
from engines.messages import Status
from engines.spec import RunSpec, window_warning
from profilers.export import FORMATS, render
from profilers.options import MeasureOptions
from profilers.result import Result, failed_result
from profilers.session import Session
from profilers.snapshot import Snapshot
from tui.render.summary import result_table, status_line

EXIT_OK, EXIT_FAILED_RUN, EXIT_INTERRUPTED = 0, 1, 130


class LiveOutput:
    """Draws the status line on stderr and streams snapshots as JSON lines when asked.

    On a terminal: one line, rewritten in place and cut to the terminal's width (a wrapped line
    cannot be rewritten). Elsewhere (a log, a pipe): a line when the phase changes and every
    ``PLAIN_EVERY_S`` seconds, never wrapped, so a log holds a few lines per run.
    """

    PLAIN_EVERY_S = 15.0

    def __init__(self, console: Console, live_json: TextIO | None) -> None:
        self.console = console
        self.live_json = live_json
        self.terminal = console.is_terminal
        self._last_plain = 0.0
        self._last_phase = ""
        self._pending = ""

    def __call__(self, snapshot: Snapshot) -> None:
        if self.live_json is not None:
            self.live_json.write(json.dumps(snapshot.to_dict()) + "\n")
            self.live_json.flush()
        line = status_line(snapshot)
        if self.terminal:
            width = max(20, self.console.width - 1)
            cut = line if len(line) <= width else line[: width - 1] + "…"
            self.console.file.write("\r\033[2K" + cut)
            self.console.file.flush()
            return
        now = time.monotonic()
        if snapshot.phase != self._last_phase or now - self._last_plain >= self.PLAIN_EVERY_S:
            self._write_plain(line)
            self._last_plain, self._last_phase = now, snapshot.phase
        else:
            self._pending = line

    def _write_plain(self, line: str) -> None:
        self.console.file.write(line + "\n")
        self.console.file.flush()
        self._pending = ""

    def close(self) -> None:
        if self.terminal:
            self.console.file.write("\n")
        elif self._pending:  # the last state seen, so a log ends on the run's final figures
            self._write_plain(self._pending)
        if self.live_json not in (None, sys.stdout):
            assert self.live_json is not None
            self.live_json.close()


def _open_live_json(target: str | None) -> TextIO | None:
    if target is None:
        return None
    if target == "-":
        return sys.stdout
    try:
        return open(target, "w", encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot write live JSON to '{target}': {exc}") from None


def write_export(results: list[Result], fmt: str, output: str | None) -> Path | None:
    text = render(results, fmt)
    if output in (None, "-"):
        sys.stdout.write(text)
        return None
    assert output is not None
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot write '{path}': {exc}") from None
    return path


def exit_code(result: Result) -> int:
    if result.status == Status.OK:
        return EXIT_OK
    return EXIT_INTERRUPTED if result.status == Status.INTERRUPTED else EXIT_FAILED_RUN


def execute_run(
    spec: RunSpec,
    options: MeasureOptions,
    export: str | None,
    output: str | None,
    live_json: str | None,
    results_dir: Path,
    err: Console,
) -> int:
    if export is None and output is not None:
        export = Path(output).suffix.lstrip(".") or "json"
    if export is not None and export not in FORMATS:  # checked before the run, not after it
        raise InvalidInputError(f"export format '{export}' is not one of {', '.join(FORMATS)}")
    export_to_stdout = export is not None and output in (None, "-")
    if export_to_stdout and live_json == "-":
        raise InvalidInputError(
            "--live-json - and the export both write to stdout: send one of them to a file"
        )
    warning = window_warning(spec)
    if warning is not None:
        err.print(f"[bold yellow]warning[/]: {escape(warning)}", highlight=False)
    live = LiveOutput(err, _open_live_json(live_json))
    try:
        result = Session(spec, options, on_snapshot=live).run()
    except PlmprofError:
        raise  # bad input found before the run began: one line, exit 2
    except Exception as exc:  # the profiler failed: a Result says how, nothing is lost
        result = failed_result(spec, options, exc)
    finally:
        live.close()
    saved = result.save(results_dir / f"{result.run_id}.json")
    # When stdout carries machine output (an export or the live JSON lines), people get stderr.
    summary = err if export_to_stdout or live_json == "-" else Console()
    summary.print(result_table(result))
    if export is not None:
        written = write_export([result], export, output)
        if written is not None:
            summary.print(f"wrote {written}")
    summary.print(f"result saved to {saved}")
    if result.status != Status.OK:
        err.print(
            f"[bold red]{result.status}[/]: {escape(result.message or 'see the result file')}"
        )
    return exit_code(result)
