"""Fine-tuning on a Gaudi against the habana_frameworks STAND-IN: lazy mode cuts the graph after
backward and after the optimizer step, and every step is timed after the device finished it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hpu_helpers import ImportBridge, hpu_spec, run_on_hpu

from engines.backends.hpu.device import HpuDevice
from engines.backends.hpu.training import HpuHooks
from engines.backends.hpu.worker import open_hpu_worker
from engines.messages import Failed, Finished, Loaded, Status, StepDone, TrainingInfo
from tests.tiny_models import of_type

pytestmark = pytest.mark.hpu


def _train(monkeypatch: pytest.MonkeyPatch, mode: str) -> list[object]:
    return run_on_hpu(
        monkeypatch,
        hpu_spec(mode="train", task="classify", hpu_mode=mode, warmup=1, max_iters=3, min_iters=3),
    )


@pytest.mark.parametrize("mode", ["lazy", "eager"])
def test_training_steps_are_timed_on_the_device_clock(
    import_standin: ImportBridge, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    state = import_standin("1" if mode == "lazy" else "0").STATE
    monkeypatch.setattr("engines.backends.hpu.training.time", state.clock)
    messages = _train(monkeypatch, mode)
    assert of_type(messages, Finished)[0].status is Status.OK, of_type(messages, Failed)
    steps = of_type(messages, StepDone)
    assert len(steps) == 4
    durations = {round(step.end - step.start, 12) for step in steps}
    assert len(durations) == 1 and durations.pop() > 0  # same shapes, real simulated work
    assert all(step.phases is None for step in steps)
    setup = of_type(messages, TrainingInfo)[0].report
    assert setup["timing_method"].startswith("host clock read after torch.hpu.synchronize()")
    assert setup["phases_separable"] is False
    assert of_type(messages, Loaded)[0].device_name == "GAUDI2"
    assert (state.mark_steps > 0) is (mode == "lazy")


def test_lazy_mode_cuts_after_backward_and_after_the_optimizer(
    import_standin: ImportBridge,
) -> None:
    import_standin("1")
    device = open_hpu_worker("hpu", hpu_spec(mode="train", task="classify"))
    calls: list[str] = []
    assert device.bridge is not None
    fake = SimpleNamespace(
        core=SimpleNamespace(mark_step=lambda: calls.append("mark_step")),
        hpu=SimpleNamespace(synchronize=lambda: calls.append("synchronize")),
        lazy=True,
    )
    hooks = HpuHooks(HpuDevice(device.device, bridge=fake))  # type: ignore[arg-type]
    hooks.begin()
    assert calls == ["mark_step", "synchronize"]
    calls.clear()
    hooks.after_backward()
    assert calls == ["mark_step"]
    hooks.after_optimizer()
    assert calls == ["mark_step", "mark_step"]
    calls.clear()
    hooks.end()
    assert calls == ["mark_step", "synchronize"]
