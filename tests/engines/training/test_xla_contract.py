"""The XLA step hooks against a stand-in device that enforces torch-xla's contract: work runs only
at ``mark_step`` and the clock shows it only after ``wait_device_ops``. A loop that forgets to
wait times the tracing: a near-zero step, which these tests catch."""

from __future__ import annotations

import pytest

import engines.runner as runner
from engines.catalog import get_model_info
from engines.messages import StepDone, WorkerMessage
from engines.training.hooks import XlaHooks
from engines.training.worker import run_training
from tests.tiny_models import register, result_of, tiny_spec

GRAPH_S = 0.25  # device seconds one traced step takes


class FakeXla:
    """``mark_step`` queues the traced graph; ``wait_device_ops`` runs the queue, advancing the
    device clock; the clock moves for nothing else."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.queued = 0.0
        self.marks = 0

    def mark_step(self) -> None:
        self.marks += 1
        self.queued += GRAPH_S

    def wait_device_ops(self) -> None:
        self.now += self.queued
        self.queued = 0.0

    def clock(self) -> float:
        return self.now


class NoWaitHooks(XlaHooks):
    """The mistake the contract guards against: read the clock right after mark_step."""

    def end(self) -> tuple[float, float, dict[str, float] | None]:
        return self._start, self.clock(), None


def _steps(monkeypatch: pytest.MonkeyPatch, hooks: XlaHooks) -> list[WorkerMessage]:
    register(monkeypatch)
    spec = tiny_spec(mode="train", task="classify", warmup=1, min_iters=3, max_iters=3)
    messages: list[WorkerMessage] = []
    run_training(
        0,
        "cpu",
        spec,
        get_model_info(spec.model),
        messages.append,
        lambda: False,
        cap=lambda limit: None,
        rss_peak=runner.rss_peak_bytes,
        hooks=hooks,
    )
    return messages


def test_each_step_is_timed_on_the_device_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    device = FakeXla()
    messages = _steps(monkeypatch, XlaHooks(device, device.clock))
    steps = [m for m in messages if isinstance(m, StepDone)]
    assert len(steps) == 4 and device.marks == 4  # one mark_step per optimizer step
    assert all(s.end - s.start == pytest.approx(GRAPH_S) for s in steps)
    assert all(s.phases is None for s in steps)
    spec = tiny_spec(mode="train", task="classify", warmup=1, min_iters=3, max_iters=3)
    result = result_of(spec, messages)
    assert result.training["step_time"]["p50"] == pytest.approx(GRAPH_S)
    assert result.training["phases"]["separable"] is False
    assert "one graph" in result.training["phases"]["reason"]


def test_a_loop_that_does_not_wait_shows_near_zero_steps(monkeypatch) -> None:
    device = FakeXla()
    steps = [
        m for m in _steps(monkeypatch, NoWaitHooks(device, device.clock)) if isinstance(m, StepDone)
    ]
    assert all(s.end - s.start < 0.01 * GRAPH_S for s in steps[1:])
