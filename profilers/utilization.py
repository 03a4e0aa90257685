"""Device and host utilisation over the measured window, from telemetry samples."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from statistics import fmean
from typing import Any, TypeVar

from profilers.telemetry.samples import GpuSample, HpuSample, NeuronCoreSample, TelemetrySample

T = TypeVar("T")


def _mean_max(values: Sequence[float | None]) -> dict[str, float | None]:
    present = [v for v in values if v is not None]
    if not present:
        return {"mean": None, "max": None}
    return {"mean": fmean(present), "max": max(present)}


def _per_index(
    items: Sequence[T], index: Callable[[T], int], fields: dict[str, Callable[[T], float | None]]
) -> list[dict[str, Any]]:
    groups: dict[int, list[T]] = {}
    for item in items:
        groups.setdefault(index(item), []).append(item)
    return [
        {"index": i, **{name: _mean_max([get(x) for x in group]) for name, get in fields.items()}}
        for i, group in sorted(groups.items())
    ]


_GPU_FIELDS: dict[str, Callable[[GpuSample], float | None]] = {
    "utilization_pct": lambda g: g.utilization_pct,
    "memory_used_bytes": lambda g: g.memory_used_bytes,
    "power_w": lambda g: g.power_w,
    "temperature_c": lambda g: g.temperature_c,
    "sm_clock_mhz": lambda g: g.sm_clock_mhz,
}
_HPU_FIELDS: dict[str, Callable[[HpuSample], float | None]] = {
    "utilization_pct": lambda h: h.utilization_pct,
    "memory_used_bytes": lambda h: h.memory_used_bytes,
    "power_w": lambda h: h.power_w,
    "temperature_c": lambda h: h.temperature_c,
}
_CORE_FIELDS: dict[str, Callable[[NeuronCoreSample], float | None]] = {
    "utilization_pct": lambda c: c.utilization_pct,
    "memory_total_bytes": lambda c: c.memory_total_bytes,
}


def summarize_utilization(
    samples: Sequence[TelemetrySample], start: float, end: float
) -> dict[str, Any] | None:
    """Mean and max of each figure over the samples taken within [start, end]; None without any."""
    inside = [s for s in samples if start <= s.t <= end]
    if not inside:
        return None
    hosts = [s.host for s in inside if s.host is not None]
    gpus = [g for s in inside for g in s.gpus]
    cores = [c for s in inside if s.neuron is not None for c in s.neuron.cores]
    gpu_rows = _per_index(gpus, lambda g: g.index, _GPU_FIELDS)
    for row in gpu_rows:
        first = next(g for g in gpus if g.index == row["index"])
        row.update(
            name=first.name,
            memory_total_bytes=first.memory_total_bytes,
            power_limit_w=first.power_limit_w,
        )
    return {
        "samples": len(inside),
        "host": {
            "cpu_pct": _mean_max([h.cpu_percent for h in hosts]),
            "memory_used_bytes": _mean_max([h.memory_used_bytes for h in hosts]),
        }
        if hosts
        else None,
        "gpus": gpu_rows,
        "neuron_cores": _per_index(cores, lambda c: c.index, _CORE_FIELDS),
        # Gaudi cards by module id (a run's hpu:N), as HLML or hl-smi reported them.
        "hpus": _per_index([h for s in inside for h in s.hpus], lambda h: h.module, _HPU_FIELDS),
    }
