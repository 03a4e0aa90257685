"""What a live view shows of a training run: the loss so far and where recent steps' time went."""

from __future__ import annotations

import statistics
from typing import Any

from profilers.collector import RunCollector

LOSS_POINTS = 240  # the loss of the last this many steps (the sparkline's history)
PHASE_STEPS = 20  # phase medians over the last this many measured steps
PHASES = ("forward", "backward", "optimizer")


def training_live(collector: RunCollector) -> dict[str, Any] | None:
    """The first training worker's loss history and recent phase medians, or None before its
    first step (or for an inference run)."""
    record = next((w for w in collector.workers.values() if w.steps), None)
    if record is None:
        return None
    steps = record.steps
    recent = [s.phases for s in steps if not s.warmup and s.phases is not None][-PHASE_STEPS:]
    return {
        "steps": len(steps),
        "warmup_steps": sum(s.warmup for s in steps),
        "loss": [s.loss for s in steps[-LOSS_POINTS:]],
        "last_loss": steps[-1].loss,
        "scaler_skipped": sum(s.skipped for s in steps),
        "phases_p50_s": (
            {name: statistics.median(p[name] for p in recent) for name in PHASES}
            if recent
            else None
        ),
    }
