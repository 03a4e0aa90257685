"""One real run through the app: a Session on CPU with the smallest model, driven by keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tui_fakes import screen_text, settle, start_a_short_real_run, wait_for

from tui.app import create_app
from tui.widgets.units import ms


@pytest.mark.e2e
async def test_a_real_session_on_cpu_from_the_form(tmp_path: Path) -> None:
    app = create_app(results_dir=tmp_path / "results", devices=["cpu"], default_device="cpu")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        runs = await start_a_short_real_run(pilot)
        await wait_for(pilot, lambda: bool(runs.results), timeout=240)
        result = runs.results[0]
        assert result.status == "ok", result.message
        assert result.spec["model"] == "esm2_t6_8M" and result.spec["batch_size"] == 2
        assert result.latency is not None and result.latency["count"] >= 3
        saved = tmp_path / "results" / f"{result.run_id}.json"
        assert json.loads(saved.read_text())["run_id"] == result.run_id
        assert (tmp_path / "results" / "worker-output.log").exists()  # not over the screen
        assert app.live_run is not None and app.live_run.snapshot is not None
        await pilot.pause(0.5)
        shown = screen_text(app)
        assert "finished" in shown and result.run_id in shown
        total = app.live_run.snapshot.latency_total
        assert total is not None and ms(total.p50) in shown
