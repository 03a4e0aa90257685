"""``plmprof run``: one headless run with a live status line, a summary table and exports."""

from __future__ import annotations

import contextlib
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
from profilers.files import check_folder, check_target, dumps, open_stream, write_text
from profilers.options import MeasureOptions
from profilers.result import Result, failed_result
from profilers.session import Session
from profilers.snapshot import Snapshot
from tui.render.summary import result_table, status_line
from tui.stop_signals import StopSignals

EXIT_OK, EXIT_FAILED_RUN, EXIT_INTERRUPTED = 0, 1, 130


class LiveOutput:
    """Draws the status line on stderr and streams snapshots as JSON lines when asked.

    On a terminal: one line, rewritten in place and cut to the terminal's width (a wrapped line
    cannot be rewritten). Elsewhere (a log, a pipe): a line when the phase changes and every
    ``PLAIN_EVERY_S`` seconds, never wrapped, so a log holds a few lines per run. A terminal
    that went away (a dropped SSH session) ends the drawing, never the run.
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
            self.live_json.write(dumps(snapshot.to_dict()) + "\n")
            self.live_json.flush()
        line = status_line(snapshot)
        with contextlib.suppress(OSError):
            self._draw(snapshot, line)

    def _draw(self, snapshot: Snapshot, line: str) -> None:
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
        with contextlib.suppress(OSError):
            if self.terminal:
                self.console.file.write("\n")
            elif self._pending:  # the last state seen, so a log ends on the run's final figures
                self._write_plain(self._pending)
        if self.live_json not in (None, sys.stdout):
            assert self.live_json is not None
            self.live_json.close()


def check_outputs(output: str | None, live_json: str | None, force: bool) -> None:
    """Refuse an ``--output`` or ``--live-json`` that could not be written, before anything
    runs and before either is opened."""
    if output not in (None, "-"):
        assert output is not None
        check_target(Path(output), overwrite=force)
    if live_json not in (None, "-"):
        assert live_json is not None
        try:
            check_target(Path(live_json), overwrite=force, make_parents=False)
        except InvalidInputError as exc:
            raise InvalidInputError(f"cannot write live JSON: {exc}") from None


def open_live_json(target: str | None, force: bool) -> TextIO | None:
    if target is None:
        return None
    if target == "-":
        return sys.stdout
    return open_stream(Path(target), overwrite=force)


def write_export(results: list[Result], fmt: str, output: str | None, force: bool) -> Path | None:
    text = render(results, fmt)
    if output in (None, "-"):
        sys.stdout.write(text)
        return None
    assert output is not None
    return write_text(Path(output), text, overwrite=force)


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
    force: bool = False,
) -> int:
    """Everything that can be refused is refused before the run starts and before any file is
    opened: the export format, ``--output`` and ``--live-json``, the run itself (preflight),
    the results folder; only then is ``--live-json`` opened. SIGTERM and SIGHUP stop the run as
    Ctrl-C does (``tui.stop_signals``); ``deliver`` saves and prints what was measured."""
    if export is None and output is not None:
        export = Path(output).suffix.lstrip(".") or "json"
    if export is not None and export not in FORMATS:
        raise InvalidInputError(f"export format '{export}' is not one of {', '.join(FORMATS)}")
    export_to_stdout = export is not None and output in (None, "-")
    if export_to_stdout and live_json == "-":
        raise InvalidInputError(
            "--live-json - and the export both write to stdout: send one of them to a file"
        )
    check_outputs(output, live_json, force)
    session = Session(spec, options)
    warnings = session.preflight()
    check_folder(results_dir)
    window = window_warning(spec)
    for warning in [window] if window is not None else []:
        err.print(f"[bold yellow]warning[/]: {escape(warning)}", highlight=False)
    for warning in warnings:
        err.print(f"[bold yellow]warning[/]: {escape(warning)}", highlight=False)
    live = LiveOutput(err, open_live_json(live_json, force))
    session.on_snapshot = live
    with StopSignals() as signals:
        try:
            result = session.run()
        except PlmprofError:
            raise  # bad input found before the run began: one line, exit 2
        except Exception as exc:  # the profiler failed: a Result says how, nothing is lost
            result = failed_result(spec, options, exc)
        finally:
            live.close()
        code = deliver(result, export, output, live_json == "-", results_dir, err, force)
        return signals.exit_code(code)


def deliver(
    result: Result,
    export: str | None,
    output: str | None,
    live_to_stdout: bool,
    results_dir: Path,
    err: Console,
    force: bool,
) -> int:
    """Save the Result, print its summary and write its export; the exit code. When a file
    cannot be written, one line says so and the Result still goes out: to ``--output`` when the
    results folder failed, as JSON on stdout when nothing else could be written (one line when
    stdout carries the live JSON lines)."""
    code = exit_code(result)
    saved: Path | None = None
    try:
        saved = result.save(results_dir / f"{result.run_id}.json")
    except PlmprofError as exc:
        err.print(f"[bold red]error:[/] the result was not saved: {escape(str(exc))}")
        code = max(code, EXIT_FAILED_RUN)
    # When stdout carries machine output (an export or the live JSON lines), people get stderr.
    to_stdout = export is not None and output in (None, "-")
    summary = err if to_stdout or live_to_stdout or saved is None else Console()
    summary.print(result_table(result))
    delivered = saved is not None
    if export is not None:
        try:
            written = write_export([result], export, output, force)
        except PlmprofError as exc:
            err.print(f"[bold red]error:[/] the export was not written: {escape(str(exc))}")
            code = max(code, EXIT_FAILED_RUN)
        else:
            delivered = True
            if written is not None:
                summary.print(f"wrote {written}")
    if not delivered:
        err.print("the result follows as JSON on stdout")
        sys.stdout.write(dumps(result.to_dict()) + "\n" if live_to_stdout else result.to_json())
        sys.stdout.flush()
    if saved is not None:
        summary.print(f"result saved to {saved}")
    if result.status != Status.OK:
        err.print(
            f"[bold red]{result.status}[/]: {escape(result.message or 'see the result file')}"
        )
    return code
