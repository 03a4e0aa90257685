"""Snapshot tests of each screen, fed deterministic data, each paired with assertions on the
values the screen shows. Update the SVGs with ``--snapshot-update`` only after looking at them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Label, Select
from tui_fakes import (
    LATENCIES,
    WINDOW,
    FakeSessions,
    latency_row,
    make_app,
    result,
    run_once,
    screen_text,
    settle,
    snapshot,
    summary,
    table,
    wait_for,
)

from profilers.export import format_value
from tui.app import PlmprofApp
from tui.screens.compare import CompareScreen
from tui.screens.export import ExportScreen
from tui.screens.help import HelpScreen
from tui.widgets.histogram import LatencyHistogram
from tui.widgets.latency import UNBACKED
from tui.widgets.units import ms

RESULTS = Path("plmprof-results")  # relative, so that the screens read the same on every machine


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def app_for(sessions: FakeSessions | None = None, **kwargs: Any) -> PlmprofApp:
    app, _ = make_app(Path("."), sessions, **kwargs)
    app.results_dir = RESULTS
    app.sub_title = f"results → {RESULTS}/"
    return app


async def quiet(pilot: Pilot[object]) -> None:
    """No toasts in the picture, nothing half-drawn."""
    pilot.app.clear_notifications()
    await pilot.pause(0.3)


async def start_live(pilot: Pilot[object], app: PlmprofApp) -> None:
    """Run on a held fake session, then give the view a known history."""
    await settle(pilot)
    app.query_one("#model", Select).focus()
    await pilot.press("r")
    await wait_for(pilot, lambda: app.live_run is not None and app.live_run.snapshot is not None)
    await pilot.pause(0.3)
    history = app.history
    history.clear()
    for i in range(60):
        wave = math.sin(i / 6)
        history.p50.append(22.7 + 1.5 * wave)
        history.p99.append(36.8 + 4 * wave)
        history.sequences_per_s.append(260 + 12 * math.cos(i / 5))
        history.utilization.append(70 + 25 * wave)
    app.redraw()
    await quiet(pilot)


def assert_live_values(app: PlmprofApp, distribution: bool = True) -> None:
    shown = screen_text(app)
    window, total = summary(WINDOW), summary(LATENCIES)
    assert latency_row(shown, "p50") == (ms(window.p50), ms(total.p50))
    assert latency_row(shown, "p90") == (ms(window.p90) + UNBACKED, ms(total.p90))
    for figure in ("60 %", "4.0 s left", "seq/s   267", "69,333"):
        assert figure in shown, figure
    drawn = app.query_one(LatencyHistogram).histogram
    assert drawn is not None and sum(drawn.counts) == len(LATENCIES)
    assert (drawn.low, drawn.high) == (min(LATENCIES), max(LATENCIES))
    # the compact layout (80x24) leaves the distribution out
    assert (f"{len(LATENCIES)} batches, whole run" in shown) is distribution


def test_setup_screen(snap_compare: Any) -> None:
    app = app_for(devices=["cpu", "cuda:0"], default_device="cuda")

    async def run_before(pilot: Pilot[object]) -> None:
        await settle(pilot)
        await quiet(pilot)
        assert app.query_one("#device", Select).value == "cuda:0"
        assert "7,409,081 parameters" in screen_text(app)
        assert "✓ ready" in str(app.query_one("#validation", Label).content)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_live_screen_cpu_80x24(snap_compare: Any) -> None:
    app = app_for(FakeSessions(snapshots=[snapshot(0.6)], hold=True))

    async def run_before(pilot: Pilot[object]) -> None:
        await start_live(pilot, app)
        assert_live_values(app, distribution=False)
        assert app.query_one("#live-pane").max_scroll_y == 0  # devices, workers: no scrolling
        assert "CPU " in screen_text(app) and "measuring" in screen_text(app)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_live_screen_cuda(snap_compare: Any) -> None:
    shot = snapshot(0.6, kind="cuda", device="cuda:0")
    app = app_for(
        FakeSessions(snapshots=[shot], hold=True), devices=["cpu", "cuda:0"], default_device="cuda"
    )

    async def run_before(pilot: Pilot[object]) -> None:
        await start_live(pilot, app)
        assert_live_values(app)
        shown = screen_text(app)
        for figure in ("GPU0", "87 %", "31.0/80.0 GB", "512 / 700 W", "61 °C", "peak 1.2 GB"):
            assert figure in shown, figure

    assert snap_compare(app, terminal_size=(120, 45), run_before=run_before)


def test_live_screen_neuron_wide(snap_compare: Any) -> None:
    shot = snapshot(0.6, kind="neuron", device="neuron")
    app = app_for(
        FakeSessions(snapshots=[shot], hold=True),
        devices=["cpu", "neuron"],
        default_device="neuron",
    )

    async def run_before(pilot: Pilot[object]) -> None:
        await start_live(pilot, app)
        assert_live_values(app)
        shown = screen_text(app)
        for figure in ("NC0", "78 %", "NC1", "64 %", "tensors 2.4 GB", "4.3/32.0 GB"):
            assert figure in shown, figure

    assert snap_compare(app, terminal_size=(170, 42), run_before=run_before)


def test_runs_screen(snap_compare: Any) -> None:
    outcomes = [
        None,
        lambda spec: result(spec, run_id="run000000002", scale=0.5),
        lambda spec: result(
            spec, "oom", run_id="run000000003", latencies=(), message="CUDA out of memory"
        ),
        lambda spec: result(spec, "interrupted", run_id="run000000004", scale=1.2),
    ]
    app = app_for(FakeSessions(outcomes=outcomes))

    async def run_before(pilot: Pilot[object]) -> None:
        await settle(pilot)
        for count in range(1, 5):
            await run_once(pilot, count)
        await pilot.press("3", "up", "up", "space", "up", "space", "down", "down")
        await quiet(pilot)
        shown = screen_text(app)
        first = next(line for line in shown.splitlines() if "   1  " in line)
        assert format_value(summary(LATENCIES).p50 * 1000) in first
        assert format_value(summary([v * 0.5 for v in LATENCIES]).p50 * 1000) in shown
        for words in ("finished", "out of memory", "stopped early"):  # short words in the table
            assert words in shown
        assert "CUDA out of memory" in shown
        assert len(table(pilot).selected) == 2

    assert snap_compare(app, terminal_size=(120, 24), run_before=run_before)


def test_compare_screen(snap_compare: Any) -> None:
    slow = lambda spec: result(spec, run_id="run000000002", scale=2.0)  # noqa: E731
    app = app_for(FakeSessions(outcomes=[None, slow]))

    async def run_before(pilot: Pilot[object]) -> None:
        await settle(pilot)
        await run_once(pilot, 1)
        await run_once(pilot, 2)
        await quiet(pilot)
        await pilot.press("3", "a", "c")
        await quiet(pilot)
        assert isinstance(app.screen, CompareScreen)
        rows = screen_text(app).splitlines()
        p50 = next(line for line in rows if "p50 ms" in line)
        assert format_value(summary(LATENCIES).p50 * 1000) in p50 and "×2.00" in p50

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_export_dialog(snap_compare: Any) -> None:
    app = app_for()

    async def run_before(pilot: Pilot[object]) -> None:
        await settle(pilot)
        await run_once(pilot, 1)
        await quiet(pilot)
        await pilot.press("e")
        await quiet(pilot)
        assert isinstance(app.screen, ExportScreen)
        shown = screen_text(app)
        assert "all (1)" in shown and "plmprof-results/plmprof-runs.json" in shown

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_help_screen(snap_compare: Any) -> None:
    app = app_for()

    async def run_before(pilot: Pilot[object]) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await quiet(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "run the Setup tab's settings (if they cannot run, says why)" in screen_text(app)

    assert snap_compare(app, terminal_size=(90, 50), run_before=run_before)
