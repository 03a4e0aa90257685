"""``plmprof top``: a live device monitor drawn as compact tables, or JSON snapshots.

On a terminal the view redraws in place every ``--interval`` seconds until ``q`` or Ctrl-C.
Piped, it prints one frame per refresh (like ``top -b``). ``--once`` prints one snapshot;
``--json`` prints ``TopSnapshot.to_dict()`` (one object per line when it keeps refreshing).
Drawing is ``tui.render.top``; key presses ``tui.commands.keys``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from engines.errors import InvalidInputError
from profilers.files import dumps
from profilers.top import TopMonitor, TopSnapshot
from tui.commands.keys import KeyReader, stdin_fd
from tui.render.top import render_top

EXIT_OK = 0


def _frames(
    top: TopMonitor, count: int | None, wait: Callable[[float], bool]
) -> Iterator[TopSnapshot]:
    """Snapshots every interval until ``count`` are given or ``wait`` says quit."""
    given = 0
    next_at = time.monotonic()
    snapshot = top.first_snapshot()
    while True:
        yield snapshot
        given += 1
        if count is not None and given >= count:
            return
        next_at = max(next_at + top.interval_s, time.monotonic())
        if wait(next_at - time.monotonic()):
            return
        snapshot = top.snapshot()


def live_view(top: TopMonitor, console: Console, count: int | None, keys: KeyReader) -> None:
    """Redraw in place on a terminal until q, Ctrl-C or ``count`` refreshes."""
    waiting = Text(f"plmprof top: sampling every {top.interval_s:g} s …")
    with Live(
        waiting,
        console=console,
        screen=True,
        auto_refresh=False,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as live:
        live.refresh()
        for snapshot in _frames(top, count, keys.quit_pressed):
            live.update(render_top(snapshot), refresh=True)


def batch_view(top: TopMonitor, console: Console, count: int | None) -> None:
    """Not a terminal: one frame per refresh, one after another."""
    for number, snapshot in enumerate(_frames(top, count, _sleep)):
        if number:
            console.rule()
        console.print(render_top(snapshot, header=False))


def json_lines(top: TopMonitor, out: TextIO, count: int | None) -> None:
    for snapshot in _frames(top, count, _sleep):
        out.write(dumps(snapshot.to_dict()) + "\n")
        out.flush()


def _sleep(seconds: float) -> bool:
    time.sleep(max(0.0, seconds))
    return False


def execute_top(
    interval_s: float,
    once: bool,
    as_json: bool,
    count: int | None,
    neuron_replay: Path | None,
    console: Console,
    out: TextIO | None = None,
    hl_smi_replay: Path | None = None,
) -> int:
    """Run ``plmprof top``; bad input raises ``InvalidInputError`` (exit 2), quitting gives 0.

    ``out``: where JSON goes (standard output when ``None``). Keys are read from standard input.
    """
    if count is not None and count < 1:
        raise InvalidInputError(f"--count must be at least 1 (got {count})")
    if once:
        count = 1
    stream = out if out is not None else sys.stdout
    try:
        with TopMonitor(
            interval_s, neuron_replay=neuron_replay, hl_smi_replay=hl_smi_replay
        ) as top:
            if as_json:
                json_lines(top, stream, count)
            elif once:
                console.print(render_top(top.first_snapshot(), header=False))
            elif console.is_terminal:
                with KeyReader(stdin_fd()) as keys:
                    live_view(top, console, count, keys)
            else:
                batch_view(top, console, count)
    except KeyboardInterrupt:
        return EXIT_OK  # Ctrl-C is how a live view is meant to end
    except BrokenPipeError:  # piped into a reader that left (head): not an error
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        return EXIT_OK
    return EXIT_OK
