"""Pilot tests of the main flows on a fake session: pick a model, run, watch, stop, compare,
export, re-run, delete, failures, help and quit."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import Button, Footer, Input, Label, Select
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
    start_run,
    summary,
    table,
    wait_for,
)

from engines.catalog import MODELS
from engines.errors import UnsupportedError
from engines.messages import Status
from engines.spec import RunSpec
from profilers.export import COLUMNS, format_value
from profilers.snapshot import Snapshot
from tui.app_support import SnapshotReady
from tui.render.summary import SHORT_STATUS_WORDS, STATUS_WORDS
from tui.screens.compare import CompareScreen
from tui.screens.export import ExportScreen
from tui.screens.help import HelpScreen
from tui.screens.setup import SetupPane
from tui.widgets.devices import DeviceMeters
from tui.widgets.latency import UNBACKED
from tui.widgets.runs_table import SORTABLE
from tui.widgets.units import ms

SIZE = (120, 40)


async def test_defaults_are_the_smallest_model_on_the_best_device(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, devices=["cpu", "cuda:0", "cuda:1"], default_device="cuda")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.query_one("#model", Select).value == "esm2_t6_8M"
        assert app.query_one("#device", Select).value == "cuda:0"
        info = str(app.query_one("#model-info", Label).content)
        assert "7,409,081 parameters" in info and "up to 1,022 residues" in info
        assert "✓" in str(app.query_one("#validation", Label).content)


async def test_pick_a_model_by_keyboard_run_it_and_keep_the_result(tmp_path: Path) -> None:
    app, sessions = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.query_one("#model", Select).focus()
        await pilot.press("enter", "down", "enter")  # the next model in the catalog
        assert app.query_one("#model", Select).value == "esm2_t12_35M"
        await pilot.press("enter", "up", "enter")  # and back to the tiny one
        assert app.query_one("#model", Select).value == "esm2_t6_8M"
        app.query_one("#batch-value", Input).value = "2"
        app.query_one("#workload-value", Input).value = "32"
        await settle(pilot)
        await run_once(pilot, 1)
        spec = sessions.made[0].spec
        assert (spec.model, spec.batch_size, spec.seq_len, spec.device) == (
            "esm2_t6_8M",
            2,
            32,
            "cpu",
        )
        saved = tmp_path / "results" / "run000000001.json"
        assert json.loads(saved.read_text())["status"] == "ok"
        assert app.query_one("#tabs").active == "live"
        await pilot.pause(0.3)
        assert "finished" in screen_text(app) and str(saved) in screen_text(app)


async def test_live_view_shows_the_fed_percentiles_and_stop_keeps_the_run(tmp_path: Path) -> None:
    sessions = FakeSessions(snapshots=[snapshot(0.6)], hold=True)
    app, _ = make_app(tmp_path, sessions)
    async with app.run_test(size=SIZE) as pilot:
        await start_run(pilot)
        shown = screen_text(app)
        window, total = summary(WINDOW), summary(LATENCIES)
        assert latency_row(shown, "p50") == (ms(window.p50), ms(total.p50))
        # 40 samples cannot back p90, 100 can; neither backs p99
        assert latency_row(shown, "p90") == (ms(window.p90) + UNBACKED, ms(total.p90))
        assert latency_row(shown, "p99") == (ms(window.p99) + UNBACKED, ms(total.p99) + UNBACKED)
        for figure in ("60 %", "4.0 s left", "267", "69,333", "12 %", "0.95 J/seq", "$2.05"):
            assert figure in shown, figure
        assert "431 MB" in shown and "12.0/32.0 GB" in shown
        await pilot.press("s")
        await wait_for(pilot, lambda: len(table(pilot).results) == 1)
        assert table(pilot).results[0].status == "interrupted"
        await pilot.press("3")
        await pilot.pause(0.2)
        assert STATUS_WORDS["interrupted"] in screen_text(app)


@pytest.mark.parametrize(
    ("size", "kind", "compact"),
    [
        ((80, 24), "cpu", True),
        ((80, 24), "cuda", True),
        ((80, 24), "neuron", True),
        ((100, 30), "cuda", True),
        ((120, 40), "cuda", False),
    ],
)
async def test_live_tab_shows_key_figures_devices_and_workers_unscrolled(
    tmp_path: Path, size: tuple[int, int], kind: str, compact: bool
) -> None:
    device = {"cpu": "cpu", "cuda": "cuda:0", "neuron": "neuron"}[kind]
    shot = snapshot(0.6, kind=kind, device=device)
    sessions = FakeSessions(snapshots=[shot], hold=True)
    app, _ = make_app(tmp_path, sessions, devices=["cpu", device], default_device=device)
    async with app.run_test(size=size) as pilot:
        await start_run(pilot)
        footer = app.query_one(Footer).region
        for panel in ("#latency-panel", "#throughput-panel", "#memory-panel", "#device-panel"):
            region = app.query_one(panel).region
            assert region.height > 2 and region.right <= size[0], panel
            assert region.bottom <= footer.y, panel  # on the screen, above the footer
        workers = app.query_one("#workers-panel").region
        assert workers.height == 4 and workers.bottom <= footer.y  # one worker: all its rows
        assert app.query_one("#live-pane").max_scroll_y == 0  # nothing below the fold
        shown = screen_text(app)
        window, total = summary(WINDOW), summary(LATENCIES)
        assert latency_row(shown, "p50") == (ms(window.p50), ms(total.p50))
        assert latency_row(shown, "p99") == (ms(window.p99) + UNBACKED, ms(total.p99) + UNBACKED)
        for figure in ("60 %", "seq/s   267", "69,333", "peak 448 MB", "52 %", "12.0/32.0 GB"):
            assert figure in shown, figure
        assert f"{device:<8}measuring" in shown  # the worker row
        if kind == "cuda":
            assert "GPU0" in shown and "87 %" in shown and "31.0/80.0 GB" in shown
        if kind == "neuron":
            assert "71 % of 2 NC" in shown
        # the compact layout leaves the distribution and history charts out
        assert app.query_one("#distribution-panel").display is not compact
        assert ("NVIDIA H100" in shown) is (kind == "cuda" and not compact)


async def test_live_tab_follows_the_terminal_across_the_compact_breakpoint(tmp_path: Path) -> None:
    shot = snapshot(0.6, kind="cuda", device="cuda:0")
    sessions = FakeSessions(snapshots=[shot], hold=True)
    app, _ = make_app(tmp_path, sessions, devices=["cpu", "cuda:0"], default_device="cuda:0")
    async with app.run_test(size=(120, 40)) as pilot:
        await start_run(pilot)
        # under 80 columns the panels stack (one column) and the devices keep their width
        sizes = [(120, 40), (80, 24), (120, 40), (70, 40), (70, 24)]
        for width, height in sizes:
            await pilot.resize_terminal(width, height)
            await pilot.pause(0.4)
            compact = height < 38
            meters = app.query_one(DeviceMeters)
            text = meters.render()
            assert isinstance(text, Text)
            assert ("NVIDIA H100" in text.plain) is not compact  # the GPU's block, or one line
            # as tall as its text at its width: no stale height after a resize
            assert meters.size.height == len(text.wrap(app.console, meters.size.width))
            if width >= 80:
                assert "GPU0" in screen_text(app)
                assert app.query_one("#live-pane").max_scroll_y == 0


async def test_a_burst_of_snapshots_merges_and_the_latest_is_drawn(tmp_path: Path) -> None:
    burst = [snapshot(min(1.0, i / 2000)) for i in range(2000)]
    sessions = FakeSessions(snapshots=burst, hold=True)
    app, _ = make_app(tmp_path, sessions)
    first, second = SnapshotReady(1, burst[0]), SnapshotReady(1, burst[1])
    assert first.can_replace(second) and not first.can_replace(SnapshotReady(2, burst[1]))
    drawn: list[Snapshot] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        original = app.query_one("#live-pane").draw

        def spy(run, history, idle=None):  # type: ignore[no-untyped-def]
            if run is not None and run.snapshot is not None:
                drawn.append(run.snapshot)
            original(run, history, idle)

        app.query_one("#live-pane").draw = spy  # type: ignore[method-assign]
        app.query_one("#model", Select).focus()
        await pilot.press("r")
        await wait_for(pilot, lambda: sessions.made and sessions.made[0].fed.is_set())
        await wait_for(pilot, lambda: app.live_run.snapshot is burst[-1])  # type: ignore[union-attr]
        await pilot.pause(0.4)
        assert drawn[-1] is burst[-1]
        assert len(drawn) < len(burst) / 4  # drawn on the timer, not once per message
        assert "100 %" in screen_text(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: len(table(pilot).results) == 1)


async def test_compare_two_runs_side_by_side_with_ratios(tmp_path: Path) -> None:
    slow = lambda spec: result(spec, run_id="slowrun00002", scale=2.0)  # noqa: E731
    sessions = FakeSessions(outcomes=[None, slow])
    app, _ = make_app(tmp_path, sessions)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await run_once(pilot, 1)
        await run_once(pilot, 2)
        await pilot.press("c")  # nothing selected yet: it says so and stays
        await pilot.pause()
        assert not isinstance(app.screen, CompareScreen)
        assert app.query_one("#tabs").active == "runs"
        await pilot.press("space", "up", "space")
        assert len(table(pilot).selected) == 2
        await pilot.press("c")
        await pilot.pause(0.2)
        assert isinstance(app.screen, CompareScreen)
        shown = screen_text(app)
        p50_row = next(line for line in shown.splitlines() if "p50 ms" in line)
        assert "×2.00" in p50_row
        seq_row = next(line for line in shown.splitlines() if "seq/s" in line)
        assert "×0.50" in seq_row
        await pilot.press("b")
        await pilot.pause()
        p50_row = next(line for line in screen_text(app).splitlines() if "p50 ms" in line)
        assert "×0.50" in p50_row
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CompareScreen)


async def test_export_selected_and_all_runs_to_files(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await run_once(pilot, 1)
        await run_once(pilot, 2)
        await pilot.press("3", "space")  # select the first row
        await pilot.press("e")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("right", "enter")  # JSON → CSV
        await pilot.pause()
        path = app.screen.query_one("#export-path", Input)
        assert path.value.endswith("plmprof-runs.csv")
        path.value = str(tmp_path / "out" / "picked.csv")
        path.focus()
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ExportScreen)
        rows = list(csv.DictReader((tmp_path / "out" / "picked.csv").open()))
        assert len(rows) == 1 and list(rows[0]) == [name for name, _, _ in COLUMNS]
        assert rows[0]["run_id"] == table(pilot).selected_results()[0].run_id
        assert float(rows[0]["p50_ms"]) == summary(LATENCIES).p50 * 1000

        await pilot.press("e")
        await pilot.pause(0.2)
        await pilot.press("shift+tab")  # from the format to the runs choice: all
        await pilot.press("down", "enter")
        await pilot.pause()
        app.screen.query_one("#export-path", Input).value = str(tmp_path / "all.json")
        app.screen.query_one("#export-go", Button).focus()
        await pilot.press("enter")
        await pilot.pause(0.2)
        data = json.loads((tmp_path / "all.json").read_text())
        assert [d["run_id"] for d in data] == ["run000000001", "run000000002"]

        await pilot.press("e")
        await pilot.pause(0.2)
        await pilot.press("right", "right", "enter")  # Markdown
        app.screen.query_one("#export-path", Input).value = "/proc/nope/x.md"
        app.screen.query_one("#export-go", Button).focus()
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ExportScreen)  # the error is shown, the dialog stays
        assert "✗" in str(app.screen.query_one("#export-error", Label).content)
        await pilot.press("escape")


async def test_failed_runs_show_their_reason_and_the_app_stays_up(tmp_path: Path) -> None:
    oom = lambda spec: result(  # noqa: E731
        spec, "oom", run_id="oomrun000001", latencies=(), message="CUDA out of memory at batch 64"
    )
    outcomes = [oom, UnsupportedError("flash_attention_2 needs CUDA"), RuntimeError("boom")]
    app, _ = make_app(tmp_path, FakeSessions(outcomes=outcomes))
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        for count in (1, 2, 3):
            await run_once(pilot, count)
        statuses = [r.status for r in table(pilot).results]
        assert statuses == ["oom", "unsupported", "error"]
        await pilot.press("3")
        await pilot.pause(0.2)
        shown = screen_text(app)
        for status in statuses:
            assert SHORT_STATUS_WORDS[status] in shown
        reasons = [
            "CUDA out of memory at batch 64",
            "flash_attention_2 needs CUDA",
            "RuntimeError: boom",
        ]
        for row, reason in enumerate(reasons):
            assert reason[:20] in shown  # in the table's message column
            table(pilot).move_cursor(row=row)
            await pilot.pause()
            detail = str(app.query_one("#runs-detail", Label).content)
            assert reason in detail and STATUS_WORDS[statuses[row]] in detail  # and in full
        assert len(list((tmp_path / "results").glob("*.json"))) == 3
        assert app.is_running


async def test_every_status_is_shown_in_words(tmp_path: Path) -> None:
    outcomes = [
        (lambda spec, s=status: result(spec, s.value, run_id=f"{s.value:_<12}"))
        for status in Status
    ]
    app, _ = make_app(tmp_path, FakeSessions(outcomes=list(outcomes)))
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        for count in range(1, len(outcomes) + 1):
            await run_once(pilot, count)
        await pilot.press("3")
        await pilot.pause(0.2)
        shown = screen_text(app)
        for row, status in enumerate(Status):  # short words in the table, in full under it
            assert SHORT_STATUS_WORDS[status.value] in shown, status
            assert len(SHORT_STATUS_WORDS[status.value]) <= 14
            table(pilot).move_cursor(row=row)
            await pilot.pause()
            detail = str(app.query_one("#runs-detail", Label).content)
            assert STATUS_WORDS[status.value] in detail, status


async def test_runs_key_figures_show_without_scrolling_at_80_columns(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    longest = max(MODELS, key=len)
    spec = RunSpec(model=longest, device="cuda:0", token_budget=4096)
    runs = [
        result(spec, status.value, run_id=f"{status.value:_<12}", scale=400.0) for status in Status
    ]
    for day, run in enumerate(runs, start=1):
        run.created_at = f"2026-01-{day:02d}T00:00:00+00:00"
        run.save(folder / f"{run.run_id}.json")
    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await pilot.pause(0.2)
        lines = screen_text(app).splitlines()
        header = next(line for line in lines if "p50 ms" in line)
        for name in ("p50 ms", "p99 ms", "seq/s"):
            assert name in header and header.index(name) + len(name) <= 78, name  # 2: scrollbar
        p50 = format_value(summary([v * 400.0 for v in LATENCIES]).p50 * 1000)
        for status in Status:  # each row's key figures are on the screen
            row = next(line for line in lines if SHORT_STATUS_WORDS[status.value] in line)
            assert p50 in row and format_value(266.7 / 400) in row, status


@pytest.mark.parametrize("tab", ["1", "2", "3"])
async def test_the_footer_keeps_every_app_key_at_80x24(tmp_path: Path, tab: str) -> None:
    sessions = FakeSessions(hold=True)
    app, _ = make_app(tmp_path, sessions)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_run(pilot)
        await pilot.press(tab)
        await pilot.pause(0.2)
        footer = screen_text(app).splitlines()[-1]
        for key in ("r Run", "s Stop", "e Export", "c Compare", "? Help", "q Quit"):
            assert key in footer, (key, footer)
        sessions.made[0].stop()
        await wait_for(pilot, lambda: not app.running)


async def test_a_run_ending_while_the_app_closes_is_no_error(tmp_path: Path) -> None:
    sessions = FakeSessions(hold=True)
    app, _ = make_app(tmp_path, sessions)
    async with app.run_test(size=SIZE) as pilot:
        await start_run(pilot)
        await table(pilot).remove()  # as when the app tears its screen down on quit
        sessions.made[0].stop()
        await wait_for(pilot, lambda: not app.running)
    assert app.live_run is not None and app.live_run.result is not None
    assert app.live_run.result.status == "interrupted" and app.live_run.saved is not None


async def test_stop_shows_at_once_while_the_run_is_still_ending(tmp_path: Path) -> None:
    sessions = FakeSessions(hold=True)
    app, _ = make_app(tmp_path, sessions)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_run(pilot)
        session = sessions.made[0]
        ended_late = session.stop
        session.stop = lambda: None  # a worker that takes its time to end (compiling, a batch)
        await pilot.press("s")
        await wait_for(pilot, lambda: "stopping, keeping what was measured" in screen_text(app))
        assert app.running and not session.stopped.is_set()  # shown before the run has ended
        ended_late()
        await wait_for(pilot, lambda: len(table(pilot).results) == 1)
        assert table(pilot).results[0].status == "interrupted"


async def test_a_combination_that_cannot_run_is_explained_under_the_form(tmp_path: Path) -> None:
    def preflight(spec: RunSpec) -> None:
        if spec.int8 != "none":
            raise UnsupportedError("--int8 dynamic: needs torchao, which is not installed")

    app, sessions = make_app(tmp_path, preflight=preflight)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.query_one("#field-int8", Select).focus()
        await pilot.press("enter", "down", "enter")
        await settle(pilot)
        message = str(app.query_one("#validation", Label).content)
        assert "✗" in message and "needs torchao" in message
        assert app.query_one("#run-button", Button).disabled
        await pilot.press("r")
        await pilot.pause(0.2)
        assert not sessions.made and app.query_one("#tabs").active == "setup"

        app.query_one("#field-int8", Select).value = "none"
        app.query_one("#batch-value", Input).value = "abc"
        await settle(pilot)
        assert "batch size must be a whole number" in str(
            app.query_one("#validation", Label).content
        )
        app.query_one("#batch-value", Input).value = "4"
        await settle(pilot)
        assert not app.query_one("#run-button", Button).disabled


async def test_rerun_load_sort_and_delete_rows(tmp_path: Path) -> None:
    fast = lambda spec: result(spec, run_id="fastrun00002", scale=0.5)  # noqa: E731
    app, sessions = make_app(tmp_path, FakeSessions(outcomes=[None, fast]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.query_one("#batch-value", Input).value = "3"
        await settle(pilot)
        await run_once(pilot, 1)
        await pilot.press("3")
        await pilot.press("R")  # re-run the row's spec
        await wait_for(pilot, lambda: len(table(pilot).results) == 2)
        assert sessions.made[1].spec == sessions.made[0].spec
        runs = table(pilot)
        assert [r.run_id for r in runs.ordered()] == ["run000000001", "fastrun00002"]
        await pilot.press("3")
        for _ in range(len(SORTABLE)):
            if runs.sort_column == "p50_ms":
                break
            await pilot.press("o")
        assert runs.sort_column == "p50_ms"
        assert [r.run_id for r in runs.ordered()] == ["fastrun00002", "run000000001"]
        await pilot.press("O")
        assert [r.run_id for r in runs.ordered()] == ["run000000001", "fastrun00002"]
        runs.move_cursor(row=0)
        await pilot.press("x")
        await pilot.pause()
        assert [r.run_id for r in runs.results] == ["fastrun00002"]
        assert (tmp_path / "results" / "run000000001.json").exists()  # the file is kept
        app.query_one(SetupPane).query_one("#batch-value", Input).value = "9"
        runs.focus()
        await pilot.press("l")
        await pilot.pause()
        assert app.query_one("#tabs").active == "setup"
        assert app.query_one("#batch-value", Input).value == "3"


async def test_help_lists_every_key(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=(100, 60)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        assert isinstance(app.screen, HelpScreen)
        shown = screen_text(app)
        for key, description in (
            ("r", "run the Setup tab's settings"),
            ("s", "stop the run early"),
            ("e", "JSON, CSV or Markdown"),
            ("c", "compare the selected runs"),
            ("?", "this list"),
            ("q", "quit"),
            ("space", "select or unselect"),
            ("R", "settings again"),
            ("x / del", "remove the highlighted run"),
            ("o", "sort by the next column"),
        ):
            assert any(
                line.split("│")[1].split()[: len(key.split())] == key.split()
                and description in line
                for line in shown.splitlines()
                if line.count("│") >= 2
            ), key
        await pilot.press("r")  # behind a dialog, r does not start a run
        await pilot.pause()
        assert app.live_run is None and isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_quit_returns_the_runs_and_waits_for_a_run_to_stop(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, FakeSessions(hold=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.query_one("#model", Select).focus()
        await pilot.press("r")
        await pilot.pause(0.3)
        await pilot.press("q")  # stops the run first, keeps it, then quits
        await wait_for(pilot, lambda: not app.is_running)
    assert [r.status for r in app.return_value or []] == ["interrupted"]
    assert (tmp_path / "results" / f"{app.return_value[0].run_id}.json").exists()  # type: ignore[index]


async def test_open_app_prints_the_runs_after_the_app(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import tui.app
    from tui.commands import interactive

    class Finished:
        def run(self) -> list[object]:
            return [result(RunSpec(), "oom", message="no memory left")]

        def quit_for_signal(self) -> None:
            raise AssertionError("no signal in this test")

    monkeypatch.setattr(tui.app, "create_app", lambda **kwargs: Finished())
    monkeypatch.setenv("COLUMNS", "200")
    assert interactive.open_app(tmp_path / "kept") == 0
    out = capsys.readouterr().out
    assert "plmprof runs" in out and "out of memory" in out and "no memory left" in out
    assert str((tmp_path / "kept").resolve()) in out
    sample, close = interactive.machine_sampler()
    reading = sample()
    close()
    assert reading.host is not None and reading.host.memory_total_bytes


async def test_earlier_sessions_runs_are_loaded_and_can_be_rerun(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    older = result(RunSpec(batch_size=2), run_id="older0000001")
    newer = result(RunSpec(batch_size=4), run_id="newer0000002")
    older.created_at, newer.created_at = "2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00"
    newer.save(folder / "newer0000002.json")
    older.save(folder / "older0000001.json")
    (folder / "notes.json").write_text("[]")  # not a Result: skipped, never fatal
    app, sessions = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        runs = table(pilot)
        assert [r.run_id for r in runs.ordered()] == ["older0000001", "newer0000002"]
        await pilot.press("3")
        runs.move_cursor(row=0)
        await pilot.press("R")
        await wait_for(pilot, lambda: len(runs.results) == 3)
        assert sessions.made[0].spec.batch_size == 2
