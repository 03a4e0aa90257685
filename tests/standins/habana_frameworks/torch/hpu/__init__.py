"""STAND-IN for habana_frameworks.torch.hpu (the module the bridge registers as torch.hpu)."""

from __future__ import annotations

from typing import Any

from torch import nn

from habana_frameworks.torch._state import POOL_BYTES, STATE

# Intel's documented memory_stats() keys, exactly these.
MEMORY_KEYS = (
    "Limit",
    "InUse",
    "MaxInUse",
    "NumAllocs",
    "NumFrees",
    "ActiveAllocs",
    "MaxAllocSize",
)


def synchronize() -> None:
    STATE.synchronize()


def memory_stats() -> dict[str, int]:
    stats = {
        "Limit": POOL_BYTES,
        "InUse": STATE.in_use,
        "MaxInUse": STATE.max_in_use,
        "NumAllocs": STATE.num_allocs,
        "NumFrees": max(0, STATE.num_allocs - 1),
        "ActiveAllocs": 1 if STATE.in_use else 0,
        "MaxAllocSize": STATE.max_in_use,
    }
    assert tuple(stats) == MEMORY_KEYS
    return stats


def reset_peak_memory_stats() -> None:
    STATE.max_in_use = STATE.in_use


def max_memory_allocated() -> int:
    return STATE.max_in_use


def memory_reserved() -> int:
    return POOL_BYTES


def get_device_name() -> str:
    return "GAUDI2"


class _HpuGraphStandIn(nn.Module):
    """Records the first call of each input shape as a capture; computes like the module."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module
        self.captured: set[tuple[int, ...]] = set()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        ids = kwargs.get("input_ids", args[0] if args else None)
        shape = tuple(ids.shape) if ids is not None else ()
        if shape not in self.captured:
            self.captured.add(shape)
            STATE.hpu_graph_captures.append(shape)
        return self.module(*args, **kwargs)


def wrap_in_hpu_graph(module: nn.Module, **options: Any) -> nn.Module:
    del options
    return _HpuGraphStandIn(module)
