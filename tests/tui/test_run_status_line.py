"""The headless run's status line: sparse whole lines in a log, one cut line on a terminal, and
the run's real ending (interrupted, not ``done | 100%``)."""

from __future__ import annotations

import dataclasses
import io

import pytest
from rich.console import Console
from tui_fakes import snapshot

from tui.commands.run_command import LiveOutput
from tui.render.summary import status_line


def test_a_log_gets_a_line_per_phase_and_every_few_seconds_never_wrapped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [0.0]
    monkeypatch.setattr("tui.commands.run_command.time.monotonic", lambda: clock[0])
    log = io.StringIO()
    live = LiveOutput(Console(file=log, width=80), None)
    phases = ["loading"] * 10 + ["measuring"] * 200  # 4 snapshots a second for about a minute
    for phase in phases:
        live(snapshot(phase=phase))
        clock[0] += 0.25
    live.close()
    lines = log.getvalue().splitlines()
    expected = status_line(snapshot(phase="measuring"))
    assert len(expected) > 80  # long enough that a console would have wrapped it
    assert lines[0].startswith("loading")
    assert expected in lines  # whole, on one line
    # one line per phase change, one each 15 s, the last state at close: 2 + 3 + 1
    assert 4 <= len(lines) <= 7


def test_a_terminal_line_is_cut_to_fit_and_rewritten() -> None:
    screen = io.StringIO()
    console = Console(file=screen, width=60, force_terminal=True)
    live = LiveOutput(console, None)
    live(snapshot())
    live(snapshot())
    live.close()
    writes = screen.getvalue().split("\r\033[2K")[1:]
    assert len(writes) == 2
    assert all(len(w.rstrip("\n")) <= 59 for w in writes)
    assert writes[0].endswith("…")


def test_a_stopped_run_says_so_and_keeps_its_progress() -> None:
    stopped = snapshot(progress=0.37, phase="done", status="interrupted")
    assert stopped.phase == "interrupted"
    line = status_line(stopped)
    assert line.startswith("interrupted")
    assert "37%" in line
    finished = snapshot(progress=1.0, phase="done", status="ok")
    assert finished.phase == "done"


def test_small_rates_keep_their_significant_figures() -> None:
    slow = dataclasses.replace(snapshot(), sequences_per_s=0.0487)
    assert "0.0487 seq/s" in status_line(slow)
