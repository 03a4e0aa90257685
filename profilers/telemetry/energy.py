"""Energy used between two instants, from telemetry samples, and how it was measured.

Order of preference (measurement.md, Energy and power):

1. ``nvml-energy-counter``: NVML's total-energy counter, read in the sample nearest ``start`` and
   the one nearest ``end`` (each within ``max_gap_s``), summed over the chosen GPUs. The window is
   that of the two samples; average watts are taken over it. Take a sample right at start and end
   (``TelemetryMonitor.sample_now()``) to make the window exact.
2. ``nvml-power-integration``: trapezoid integral of sampled power (summed over the chosen GPUs),
   interpolated linearly to ``start`` and ``end``; needs two samples or more in or next to the
   window. Short runs are poorly served: say so when this method was used.
3. ``rapl``: the difference of two ``RaplReader.read_uj()`` readings given by the caller (CPU
   package energy, not a GPU's).
4. ``none``, with the reasons the others could not be used.

When a method is passed over, ``reason`` says why (also when a later one succeeded).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from profilers.telemetry.samples import TelemetrySample

METHODS = ("nvml-energy-counter", "nvml-power-integration", "rapl", "none")


@dataclass(frozen=True)
class Energy:
    """Energy over a measured window; figures ``None`` when ``method`` is ``"none"``."""

    joules: float | None
    joules_per_sequence: float | None
    average_watts: float | None
    method: str
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _nearest(samples: Sequence[TelemetrySample], t: float) -> TelemetrySample | None:
    return min(samples, key=lambda sample: abs(sample.t - t), default=None)


def _chosen(sample: TelemetrySample, gpu_indices: Sequence[int]) -> list[Any] | None:
    """The sample's GpuSamples for these indices, in order; ``None`` when one is missing."""
    by_index = {gpu.index: gpu for gpu in sample.gpus}
    chosen = [by_index.get(index) for index in gpu_indices]
    return None if any(gpu is None for gpu in chosen) else chosen


def _counter(
    samples: Sequence[TelemetrySample],
    start: float,
    end: float,
    gpu_indices: Sequence[int],
    max_gap_s: float,
) -> tuple[float, float] | str:
    """(joules, seconds) from the energy counter, or why it cannot be used."""
    first = _nearest(samples, start)
    last = _nearest(samples, end)
    if first is None or last is None:
        return "no samples"
    if abs(first.t - start) > max_gap_s or abs(last.t - end) > max_gap_s:
        return f"no sample within {max_gap_s:g} s of the start and of the end"
    if last.t <= first.t:
        return "the window holds fewer than two samples"
    before = _chosen(first, gpu_indices)
    after = _chosen(last, gpu_indices)
    if before is None or after is None:
        return "a chosen GPU is missing from the samples"
    millijoules = 0
    for gpu_before, gpu_after in zip(before, after, strict=True):
        if gpu_before.energy_mj is None or gpu_after.energy_mj is None:
            return f"energy counter not available on GPU {gpu_before.index}"
        difference = gpu_after.energy_mj - gpu_before.energy_mj
        if difference < 0:
            return f"energy counter of GPU {gpu_before.index} went backwards (driver reloaded?)"
        millijoules += difference
    return millijoules / 1000.0, last.t - first.t


def _power_points(
    samples: Sequence[TelemetrySample], gpu_indices: Sequence[int]
) -> list[tuple[float, float]]:
    points = []
    for sample in sorted(samples, key=lambda s: s.t):
        chosen = _chosen(sample, gpu_indices)
        if chosen is None or any(gpu.power_w is None for gpu in chosen):
            continue
        points.append((sample.t, float(sum(gpu.power_w for gpu in chosen))))
    return points


def _power_at(points: list[tuple[float, float]], t: float) -> float:
    """Power at ``t``: linear between neighbouring points, the edge value beyond them."""
    if t <= points[0][0]:
        return points[0][1]
    if t >= points[-1][0]:
        return points[-1][1]
    for (t0, p0), (t1, p1) in itertools.pairwise(points):
        if t0 <= t <= t1:
            return p0 if t1 == t0 else p0 + (p1 - p0) * (t - t0) / (t1 - t0)
    return points[-1][1]  # not reached: the points are sorted and t lies within them


def _integrate(
    samples: Sequence[TelemetrySample],
    start: float,
    end: float,
    gpu_indices: Sequence[int],
    max_gap_s: float,
) -> float | str:
    """Joules from integrating sampled power over [start, end], or why it cannot be done."""
    points = _power_points(samples, gpu_indices)
    near = [(t, p) for t, p in points if start - max_gap_s <= t <= end + max_gap_s]
    if len(near) < 2:
        return "fewer than two power samples in the window"
    if near[0][0] > start + max_gap_s or near[-1][0] < end - max_gap_s:
        return f"power samples do not reach within {max_gap_s:g} s of the start and of the end"
    inside = [(t, p) for t, p in near if start < t < end]
    curve = [(start, _power_at(near, start)), *inside, (end, _power_at(near, end))]
    return sum((t1 - t0) * (p0 + p1) / 2.0 for (t0, p0), (t1, p1) in itertools.pairwise(curve))


def _result(
    joules: float, seconds: float, sequences: int, method: str, reason: str | None
) -> Energy:
    return Energy(
        joules=joules,
        joules_per_sequence=joules / sequences if sequences > 0 else None,
        average_watts=joules / seconds if seconds > 0 else None,
        method=method,
        reason=reason,
    )


def energy_between(
    samples: Sequence[TelemetrySample],
    start: float,
    end: float,
    sequences: int,
    gpu_indices: Sequence[int] | None = None,
    rapl_start_uj: int | None = None,
    rapl_end_uj: int | None = None,
    max_gap_s: float = 1.0,
) -> Energy:
    """Energy between ``start`` and ``end`` (monotonic seconds) for ``sequences`` sequences.

    ``gpu_indices``: the GPUs to count (default: every GPU in the sample nearest ``start``).
    Never raises; see the module docstring for the methods and their order.
    """
    if end <= start:
        return Energy(None, None, None, "none", "the window is empty (end is not after start)")
    reasons: list[str] = []
    first = _nearest(samples, start)
    if gpu_indices is None:
        gpu_indices = [] if first is None else [gpu.index for gpu in first.gpus]
    if gpu_indices:
        counted = _counter(samples, start, end, gpu_indices, max_gap_s)
        if not isinstance(counted, str):
            joules, seconds = counted
            return _result(joules, seconds, sequences, "nvml-energy-counter", None)
        reasons.append(f"NVML energy counter: {counted}")
        integrated = _integrate(samples, start, end, gpu_indices, max_gap_s)
        if not isinstance(integrated, str):
            return _result(
                integrated, end - start, sequences, "nvml-power-integration", "; ".join(reasons)
            )
        reasons.append(f"NVML power: {integrated}")
    else:
        reasons.append("no GPU in the samples")
    if rapl_start_uj is not None and rapl_end_uj is not None:
        if rapl_end_uj >= rapl_start_uj:
            joules = (rapl_end_uj - rapl_start_uj) / 1e6
            return _result(joules, end - start, sequences, "rapl", "; ".join(reasons))
        reasons.append("RAPL: the end reading is below the start reading")
    else:
        reasons.append("RAPL: no readings")
    return Energy(None, None, None, "none", "; ".join(reasons))
