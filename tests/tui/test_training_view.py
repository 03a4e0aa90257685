"""What a training run shows live (status line, training panel) and the Setup form's training
fields."""

from __future__ import annotations

import dataclasses

import pytest

from engines.spec import RunSpec
from profilers.collector import RunCollector
from profilers.training.live import training_live
from tests.tiny_models import run_in_process, tiny_spec
from tui.screens.setup import FormValues, spec_from_form
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
    values = FormValues(
        model="esm2_t6_8M",
        device="cpu",
        dtype="fp32",
        int8="none",
        prune="none",
        attention="sdpa",
        compile="none",
        batching="batch",
        batch_value="4",
        workload="seq_len",
        workload_value="64",
        duration="5",
        warmup="1",
        min_iters="3",
        workers="1",
    )
    trained = dataclasses.replace(
        values, mode="training", task="classify", finetune="lora", lr="3e-4"
    )
    spec = spec_from_form(RunSpec(), trained)
    assert (spec.mode, spec.task, spec.finetune, spec.lr) == ("training", "classify", "lora", 3e-4)
    assert spec_from_form(RunSpec(), values).mode == "inference"
