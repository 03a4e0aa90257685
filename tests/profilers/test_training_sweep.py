"""Training in sweeps: ``mode`` as an axis, training settings in a grid, and the max-batch probe
of a training point."""

from __future__ import annotations

from profilers.sweep import SweepGrid, expand
from profilers.sweep.max_batch import probe_spec


def test_mode_is_an_axis_and_training_settings_are_fixed() -> None:
    grid = SweepGrid.from_settings(
        {
            "models": "esm2_t6_8M",
            "modes": ["inference", "train"],
            "batch_sizes": [2, 4],
            "seq_len": 32,
            "task": "classify",
            "finetune": "lora",
            "lora_targets": "query,value",
        }
    )
    points = expand(grid, check=None)
    assert sorted((p.spec.mode, p.spec.batch_size) for p in points) == [
        ("inference", 2),
        ("inference", 4),
        ("training", 2),
        ("training", 4),
    ]
    training = [p.spec for p in points if p.spec.mode == "training"]
    assert all(s.finetune == "lora" and s.lora_targets == ("query", "value") for s in training)
    assert len({p.key for p in points}) == 4  # every point is its own experiment


def test_max_batch_probe_keeps_the_training_settings() -> None:
    grid = SweepGrid.from_settings(
        {"models": "esm2_t6_8M", "mode": "train", "task": "classify", "seq_len": 64}
    )
    (point,) = expand(grid, check=None)
    probe = probe_spec(point.spec, 16)
    assert (probe.mode, probe.task, probe.batch_size) == ("training", "classify", 16)
    assert probe.warmup >= 1  # the first step (AdamW's state allocated) is part of the probe
