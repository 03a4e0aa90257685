"""A Gaudi seen from the timing loop: flush, synchronise, read the allocator's statistics.

Execution is asynchronous: a host clock measures the work only after ``torch.hpu.synchronize()``.
In lazy mode, operations are only collected until ``mark_step()`` hands the graph to the device,
so :meth:`HpuDevice.synchronize` marks the step first. Memory comes from the bridge's
``memory_stats()``: ``MaxInUse`` is the allocator's peak; ``Limit`` is the whole pool the bridge
reserves at start-up, nothing like CUDA's reserved memory, and is never reported as if it were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from engines.backends.torch_device import TorchDevice

from .bridge import Bridge

# Where the bridge puts tensors; the tests' stand-in computes on the CPU and patches this.
HPU_TORCH_DEVICE = "hpu"
# The memory_stats() keys read here (Intel's list also has NumAllocs, NumFrees, ActiveAllocs,
# MaxAllocSize).
IN_USE, MAX_IN_USE, LIMIT = "InUse", "MaxInUse", "Limit"


@dataclass(frozen=True)
class HpuDevice(TorchDevice):
    """One Gaudi card, opened through the bridge in this worker."""

    bridge: Bridge | None = None
    card: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def _bridge(self) -> Bridge:
        assert self.bridge is not None, "HpuDevice opened without the bridge"
        return self.bridge

    @property
    def name(self) -> str:
        named = _device_name(self._bridge.hpu)
        where = f", module {self.card}" if self.card else ""
        return f"{named}{where}"

    def compute_units(self) -> tuple[str, ...]:
        """One Gaudi card: its module id when the worker was pinned (``hpu:N``), else the one
        card an unpinned worker opened (which one the bridge chose is not known here)."""
        return (f"hpu:{self.card}",) if self.card else ("hpu",)

    def synchronize(self) -> None:
        """Hand the lazily collected graph to the device (lazy mode), then wait for it."""
        if self._bridge.lazy:
            self._bridge.core.mark_step()
        self._bridge.hpu.synchronize()

    def reset_peaks(self) -> None:
        self._bridge.hpu.reset_peak_memory_stats()

    def memory_stats(self) -> dict[str, Any]:
        stats = self._bridge.hpu.memory_stats()
        return dict(stats) if isinstance(stats, dict) else {}

    def allocated(self) -> int | None:
        return _bytes(self.memory_stats().get(IN_USE))

    def max_allocated(self) -> int | None:
        return _bytes(self.memory_stats().get(MAX_IN_USE))

    def max_reserved(self) -> int | None:
        """None: the bridge's "reserved" is its whole pre-reserved pool (``Limit``)."""
        return None

    def pool_bytes(self) -> int | None:
        """The pool the bridge reserved at start-up (``Limit``), reported under its own name."""
        return _bytes(self.memory_stats().get(LIMIT))

    def limit_memory(self, megabytes: int) -> None:
        """The bridge has no documented per-process cap on device memory; the host cap applies."""
        del megabytes


def _bytes(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _device_name(hpu: Any) -> str:
    try:
        name = hpu.get_device_name()
    except Exception:  # an unreadable name is not worth a failed run
        return "Intel Gaudi (HPU)"
    return str(name) if name else "Intel Gaudi (HPU)"


def torch_device() -> torch.device:
    return torch.device(HPU_TORCH_DEVICE)
