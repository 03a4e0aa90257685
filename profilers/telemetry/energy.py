"""Energy used over exactly a measured window, from telemetry samples, and how it was measured.

The window is the run's measured window (first batch start to last batch end over all workers),
and the energy is divided by the sequences measured in it, so joules per sequence cover the same
work as the throughput. Order of preference (docs/measurement.md, Energy):

1. ``nvml-energy-counter``: NVML's total-energy counter of each chosen GPU, sampled by the
   telemetry monitor; its value at ``start`` and at ``end`` is interpolated linearly between the
   samples on either side of each edge, and the difference is summed over the GPUs.
2. ``nvml-power-integration``: trapezoid integral of sampled power (summed over the chosen GPUs),
   interpolated linearly to ``start`` and ``end``; needs two samples or more in or next to the
   window. Short runs are poorly served: say so when this method was used.

   A run on Gaudi reads its cards first, the same two ways: ``hlml-energy-counter`` (HLML's
   total-energy counter, mJ) and ``hpu-power-integration`` (sampled power; the only way with
   hl-smi, which has no counter).
3. ``rapl``: the CPU package energy counters (``HostSample.cpu_energy_uj``), read at every sample
   so that each wrap of a counter is seen and counted (a counter wraps in about 44 minutes at
   100 W; two readings a run apart cannot tell how many times it did), interpolated at the edges
   like the NVML counter.
4. ``none``, with the reasons the others could not be used.

An edge with no sample beyond it is extrapolated from the two nearest samples, up to
``max_gap_s``; further out the method is passed over. When a method is passed over, ``reason``
says why (also when a later one succeeded).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from profilers.telemetry.samples import TelemetrySample

METHODS = (
    "nvml-energy-counter",
    "nvml-power-integration",
    "hlml-energy-counter",
    "hpu-power-integration",
    "rapl",
    "none",
)


@dataclass(frozen=True)
class _Family:
    """Cards of one kind in the samples, keyed the way a run names them, and the names of the two
    methods that read them."""

    name: str  # "GPU", "Gaudi"
    source: str  # "NVML", "Gaudi telemetry"
    counter: str
    integration: str
    cards: Callable[[TelemetrySample], dict[int, Any]]


_GPUS = _Family(
    "GPU",
    "NVML",
    "nvml-energy-counter",
    "nvml-power-integration",
    lambda sample: {gpu.index: gpu for gpu in sample.gpus},
)
# Gaudi cards by module id (a run's hpu:N); HLML has an energy counter, hl-smi only power.
_GAUDIS = _Family(
    "Gaudi",
    "Gaudi telemetry",
    "hlml-energy-counter",
    "hpu-power-integration",
    lambda sample: {card.module: card for card in sample.hpus},
)


@dataclass(frozen=True)
class Energy:
    """Energy over a measured window; figures ``None`` when ``method`` is ``"none"``."""

    joules: float | None
    joules_per_sequence: float | None
    average_watts: float | None
    method: str
    reason: str | None = None
    window_s: float | None = None  # the window the joules cover, seconds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _nearest(samples: Sequence[TelemetrySample], t: float) -> TelemetrySample | None:
    return min(samples, key=lambda sample: abs(sample.t - t), default=None)


def _chosen(sample: TelemetrySample, family: _Family, keys: Sequence[int]) -> list[Any] | None:
    """The sample's cards of ``family`` for these keys, in order; ``None`` when one is missing."""
    by_key = family.cards(sample)
    chosen = [by_key.get(key) for key in keys]
    return None if any(card is None for card in chosen) else chosen


Points = list[tuple[float, float]]


def _value_at(points: Points, t: float, max_gap_s: float) -> float | None:
    """A cumulative counter at ``t``: linear between the samples around it, or extrapolated from
    the two nearest when ``t`` lies at most ``max_gap_s`` beyond the first or last sample."""
    if len(points) < 2:
        return None
    if t < points[0][0]:
        if points[0][0] - t > max_gap_s:
            return None
        (t0, v0), (t1, v1) = points[0], points[1]
    elif t > points[-1][0]:
        if t - points[-1][0] > max_gap_s:
            return None
        (t0, v0), (t1, v1) = points[-2], points[-1]
    else:
        (t0, v0), (t1, v1) = next(
            (p, q) for p, q in itertools.pairwise(points) if p[0] <= t <= q[0]
        )
    return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)


def _difference(points: Points, start: float, end: float, max_gap_s: float) -> float | str:
    """How much a cumulative counter grew from ``start`` to ``end``, or why it cannot be told."""
    if any(later[1] < earlier[1] for earlier, later in itertools.pairwise(points)):
        return "the counter went backwards (driver reloaded?)"
    first, last = _value_at(points, start, max_gap_s), _value_at(points, end, max_gap_s)
    if first is None or last is None:
        return f"no samples around the start and the end (within {max_gap_s:g} s)"
    return last - first


def _counter(
    samples: Sequence[TelemetrySample],
    start: float,
    end: float,
    family: _Family,
    keys: Sequence[int],
    max_gap_s: float,
) -> float | str:
    """Joules from the cards' energy counters over [start, end], or why they cannot be used."""
    ordered = sorted(samples, key=lambda sample: sample.t)
    millijoules = 0.0
    for key in keys:
        points = []
        for sample in ordered:
            card = family.cards(sample).get(key)
            if card is not None and card.energy_mj is not None:
                points.append((sample.t, float(card.energy_mj)))
        if not points:
            return f"energy counter not available on {family.name} {key}"
        grown = _difference(points, start, end, max_gap_s)
        if isinstance(grown, str):
            return f"{family.name} {key}: {grown}"
        millijoules += grown
    return millijoules / 1000.0


def _rapl(
    samples: Sequence[TelemetrySample], start: float, end: float, max_gap_s: float
) -> float | str:
    """Joules from the sampled CPU package counters over [start, end], or why not."""
    points = [
        (sample.t, float(sample.host.cpu_energy_uj))
        for sample in sorted(samples, key=lambda sample: sample.t)
        if sample.host is not None and sample.host.cpu_energy_uj is not None
    ]
    if not points:
        return "no readings"
    grown = _difference(points, start, end, max_gap_s)
    return grown if isinstance(grown, str) else grown / 1e6


def _power_points(
    samples: Sequence[TelemetrySample], family: _Family, keys: Sequence[int]
) -> list[tuple[float, float]]:
    points = []
    for sample in sorted(samples, key=lambda s: s.t):
        chosen = _chosen(sample, family, keys)
        if chosen is None or any(card.power_w is None for card in chosen):
            continue
        points.append((sample.t, float(sum(card.power_w for card in chosen))))
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
    family: _Family,
    keys: Sequence[int],
    max_gap_s: float,
) -> float | str:
    """Joules from integrating sampled power over [start, end], or why it cannot be done."""
    points = _power_points(samples, family, keys)
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
        window_s=seconds,
    )


def _cards_energy(
    samples: Sequence[TelemetrySample],
    start: float,
    end: float,
    sequences: int,
    family: _Family,
    keys: Sequence[int],
    max_gap_s: float,
    reasons: list[str],
) -> Energy | None:
    """Energy from ``family``'s counters, else from its sampled power; None (reasons noted)."""
    counted = _counter(samples, start, end, family, keys, max_gap_s)
    if not isinstance(counted, str):
        return _result(counted, end - start, sequences, family.counter, "; ".join(reasons) or None)
    reasons.append(f"{family.source} energy counter: {counted}")
    integrated = _integrate(samples, start, end, family, keys, max_gap_s)
    if not isinstance(integrated, str):
        return _result(integrated, end - start, sequences, family.integration, "; ".join(reasons))
    reasons.append(f"{family.source} power: {integrated}")
    return None


def _gaudi_keys(samples: Sequence[TelemetrySample], t: float, modules: Sequence[int]) -> list[int]:
    """The Gaudi modules to count: those given (``hpu:N``), or for an unpinned ``hpu`` the one
    card of a single-card host (which card an unpinned worker took is not known otherwise)."""
    if modules:
        return list(modules)
    first = _nearest(samples, t)
    cards = [] if first is None else list(_GAUDIS.cards(first))
    return cards if len(cards) == 1 else []


def energy_between(
    samples: Sequence[TelemetrySample],
    start: float,
    end: float,
    sequences: int,
    gpu_indices: Sequence[int] | None = None,
    max_gap_s: float = 1.0,
    hpu_modules: Sequence[int] | None = None,
) -> Energy:
    """Energy between ``start`` and ``end`` (monotonic seconds) for the ``sequences`` sequences
    measured in that window.

    ``gpu_indices``: the GPUs to count (default: every GPU in the sample nearest ``start``).
    ``hpu_modules``: for a run on Gaudi, the module ids it was pinned to (empty: unpinned);
    Gaudi cards are counted first then. Never raises; see the module docstring for the methods
    and their order.
    """
    if end <= start:
        return Energy(None, None, None, "none", "the window is empty (end is not after start)")
    reasons: list[str] = []
    if hpu_modules is not None:
        keys = _gaudi_keys(samples, start, hpu_modules)
        if keys:
            cards = _cards_energy(samples, start, end, sequences, _GAUDIS, keys, max_gap_s, reasons)
            if cards is not None:
                return cards
        elif any(sample.hpus for sample in samples):
            reasons.append(
                "Gaudi: several cards and an unpinned worker (run on hpu:N to count its card)"
            )
        else:
            reasons.append("no Gaudi card in the samples")
    first = _nearest(samples, start)
    if gpu_indices is None:
        gpu_indices = [] if first is None else [gpu.index for gpu in first.gpus]
    if gpu_indices:
        found = _cards_energy(
            samples, start, end, sequences, _GPUS, gpu_indices, max_gap_s, reasons
        )
        if found is not None:
            return found
    else:
        reasons.append("no GPU in the samples")
    package = _rapl(samples, start, end, max_gap_s)
    if not isinstance(package, str):
        return _result(package, end - start, sequences, "rapl", "; ".join(reasons))
    reasons.append(f"RAPL: {package}")
    return Energy(None, None, None, "none", "; ".join(reasons))
