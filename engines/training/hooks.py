"""How a training step is timed on each kind of device: the one place that knows when to wait.

A step calls ``begin()``, then ``phase(name)`` at the end of each forward, backward and optimizer
phase, ``after_backward()`` / ``after_optimizer()`` where lazy devices cut their graph, and
``end()``. ``end()`` returns the step's start and end on the host's monotonic clock (shared by
every process) and the seconds of each phase, or None where a device cannot separate them.

- CPU: operations run when called, so a host clock read at each phase boundary times the phase.
- CUDA: events recorded on the current stream at each boundary, one synchronisation per step (in
  ``end()``), never a ``.item()`` inside a phase.
- XLA (Trainium through torch-neuronx): lazy tensors run only at ``mark_step``; the host clock is
  read only after ``wait_device_ops()``, else it times the tracing, not the device. Forward,
  backward and optimizer run as one graph: no phase split.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import torch

PHASES = ("forward", "backward", "optimizer")


class StepHooks(Protocol):
    name: str
    phases_separable: bool

    def begin(self) -> float: ...

    def phase(self, name: str) -> None: ...

    def after_backward(self) -> None: ...

    def after_optimizer(self) -> None: ...

    def end(self) -> tuple[float, float, dict[str, float] | None]: ...


class HostHooks:
    """CPU: host clock at every boundary (the work is done when the call returns)."""

    name = "cpu"
    phases_separable = True
    method = "time.perf_counter() at each phase boundary (CPU operations are synchronous)"

    def __init__(self) -> None:
        self._start = 0.0
        self._last = 0.0
        self._phases: dict[str, float] = {}

    def begin(self) -> float:
        self._phases = dict.fromkeys(PHASES, 0.0)
        self._start = time.monotonic()
        self._last = time.perf_counter()
        return self._start

    def phase(self, name: str) -> None:
        now = time.perf_counter()
        self._phases[name] += now - self._last
        self._last = now

    def after_backward(self) -> None:
        pass

    def after_optimizer(self) -> None:
        pass

    def end(self) -> tuple[float, float, dict[str, float] | None]:
        return self._start, time.monotonic(), self._phases


class CudaHooks:
    """CUDA events at each boundary; ``end()`` synchronises once and reads them all."""

    name = "cuda"
    phases_separable = True
    method = "CUDA events at each phase boundary, one torch.cuda.synchronize per step"

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._events: list[tuple[str, Any]] = []
        self._start = 0.0
        torch.cuda.synchronize(device)

    def _record(self, name: str) -> None:
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        self._events.append((name, event))

    def begin(self) -> float:
        # The previous step's end() synchronised: the device is idle, the host clock is true.
        self._start = time.monotonic()
        self._events = []
        self._record("start")
        return self._start

    def phase(self, name: str) -> None:
        self._record(name)

    def after_backward(self) -> None:
        pass

    def after_optimizer(self) -> None:
        pass

    def end(self) -> tuple[float, float, dict[str, float] | None]:
        torch.cuda.synchronize(self.device)
        end = time.monotonic()
        phases = dict.fromkeys(PHASES, 0.0)
        for (_, before), (name, after) in zip(self._events, self._events[1:], strict=False):
            phases[name] += before.elapsed_time(after) / 1000
        return self._start, end, phases


class XlaHooks:
    """Lazy XLA devices: ``mark_step`` after the optimizer, ``wait_device_ops`` before every
    clock read. ``xm`` is ``torch_xla.core.xla_model`` (or a stand-in with the same two calls);
    ``clock`` is the host's monotonic clock."""

    name = "xla"
    phases_separable = False
    method = (
        "host clock read after xm.wait_device_ops(), mark_step after the optimizer step; "
        "forward, backward and optimizer run as one graph, so no phase split"
    )

    def __init__(self, xm: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.xm = xm
        self.clock = clock
        self._start = 0.0

    def begin(self) -> float:
        self.xm.wait_device_ops()
        self._start = self.clock()
        return self._start

    def phase(self, name: str) -> None:
        pass

    def after_backward(self) -> None:
        pass

    def after_optimizer(self) -> None:
        self.xm.mark_step()

    def end(self) -> tuple[float, float, dict[str, float] | None]:
        self.xm.wait_device_ops()
        return self._start, self.clock(), None


def hooks_for(device: torch.device) -> StepHooks:
    if device.type == "cuda":
        return CudaHooks(device)
    if device.type == "xla":
        import torch_xla.core.xla_model as xm

        return XlaHooks(xm)
    return HostHooks()
