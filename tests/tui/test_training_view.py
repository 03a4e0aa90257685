"""What a training run shows live (status line, training panel) and the Setup form's training
fields."""

from __future__ import annotations

import dataclasses

import pytest

from engines.spec import RunSpec
from profilers.collector import RunCollector
from profilers.options import MeasureOptions
from profilers.training.live import training_live
from tests.tiny_models import run_in_process, tiny_spec
from tui.screens.setup_fields import widget_id
from tui.screens.setup_form import form_values, spec_from_form
from tui.widgets.training import training_text


def test_live_training_figures_follow_the_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = {"mode": "train", "task": "classify", "warmup": 1, "min_iters": 3, "max_iters": 3}
    messages = run_in_process(monkeypatch, **settings)
    collector = RunCollector(tiny_spec(**settings).worker_devices())
    for message in messages:
        collector.handle(message)
    live = training_live(collector)
    assert live is not None
    assert live["steps"] == 4 and live["warmup_steps"] == 1 and len(live["loss"]) == 4
    assert set(live["phases_p50_s"]) == {"forward", "backward", "optimizer"}
    snapshot = type("S", (), {"training": live})()
    text = training_text(snapshot).plain  # type: ignore[arg-type]
    assert f"loss    {live['loss'][-1]:.4f}" in text
    assert "forward" in text and "%" in text


def test_setup_form_makes_a_training_spec() -> None:
    values = form_values(RunSpec(), MeasureOptions())
    changes = {"mode": "training", "task": "classify", "finetune": "lora", "lr": "3e-4"}
    trained = {**values, **{widget_id(name): text for name, text in changes.items()}}
    spec = spec_from_form(RunSpec(), trained)
    assert (spec.mode, spec.task, spec.finetune, spec.lr) == ("training", "classify", "lora", 3e-4)
    assert spec_from_form(RunSpec(), values).mode == "inference"


async def test_a_training_run_from_the_setup_form_shows_its_loss_live(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import Collapsible, Select
    from tui_fakes import FakeSessions, make_app, screen_text, settle, snapshot, wait_for

    live = {
        "steps": 5,
        "warmup_steps": 2,
        "loss": [0.9, 0.8, 0.6, 0.5, 0.41],
        "last_loss": 0.41,
        "scaler_skipped": 0,
        "phases_p50_s": {"forward": 0.2, "backward": 0.3, "optimizer": 0.05},
    }
    sessions = FakeSessions(
        snapshots=[dataclasses.replace(snapshot(0.5), training=live)], hold=True
    )
    app, _ = make_app(tmp_path, sessions)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.query_one("#field-mode", Select).value = "training"
        app.query_one("#field-task", Select).value = "classify"
        await settle(pilot)
        assert not app.query_one("#group-training", Collapsible).collapsed  # opened for it
        app.query_one("#model", Select).focus()
        await pilot.press("r")
        await wait_for(
            pilot, lambda: app.live_run is not None and app.live_run.snapshot is not None
        )
        await pilot.pause(0.4)
        assert sessions.made[0].spec.mode == "training"
        assert sessions.made[0].spec.task == "classify"
        shown = screen_text(app)
        assert "loss    0.4100" in shown
        assert "backward 300 ms" in shown
        await pilot.press("s")
