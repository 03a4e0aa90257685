"""How a training step is timed on a Gaudi (the :class:`~engines.training.hooks.StepHooks` of
the training loop).

Intel's training recipe for lazy mode: ``mark_step()`` after ``loss.backward()`` and again after
``optimizer.step()``, so each cuts the collected graph and hands it to the device. The host clock
is read only after the device finished (:meth:`HpuDevice.synchronize`: ``mark_step`` in lazy mode,
then ``torch.hpu.synchronize()``). Forward, backward and optimizer are not timed apart: in lazy
mode they are not separate device work until those cuts.
"""

from __future__ import annotations

import time

from .device import HpuDevice


class HpuHooks:
    name = "hpu"
    phases_separable = False

    def __init__(self, device: HpuDevice) -> None:
        assert device.bridge is not None
        self.device = device
        self.lazy = device.bridge.lazy
        self.method = (
            "host clock read after torch.hpu.synchronize(); "
            + (
                "mark_step after backward and after the optimizer step (lazy mode)"
                if self.lazy
                else "eager mode"
            )
            + "; forward, backward and optimizer not timed apart"
        )
        self._start = 0.0

    def _cut(self) -> None:
        if self.lazy:
            assert self.device.bridge is not None
            self.device.bridge.core.mark_step()

    def begin(self) -> float:
        self.device.synchronize()
        self._start = time.monotonic()
        return self._start

    def phase(self, name: str) -> None:
        del name

    def after_backward(self) -> None:
        self._cut()

    def after_optimizer(self) -> None:
        self._cut()

    def end(self) -> tuple[float, float, dict[str, float] | None]:
        self.device.synchronize()
        return self._start, time.monotonic(), None
