"""What a report picks from its rows: the best row for a figure, Pareto fronts, fp32 baselines and
speed-ups against them, real-time and throughput-optimized settings, per model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from profilers.report.rows import DEFAULT_ATTENTION, Row

T = TypeVar("T")


def best(rows: Sequence[Row], key: Callable[[Row], float | None], highest: bool) -> Row | None:
    """The row with the highest (or lowest) figure; rows without the figure are left out. Ties go
    to the earlier row."""
    present = [(key(r), i, r) for i, r in enumerate(rows) if key(r) is not None]
    if not present:
        return None
    if highest:
        return max(present, key=lambda item: (item[0], -item[1]))[2]
    return min(present, key=lambda item: (item[0], item[1]))[2]


Objective = tuple[Callable[[T], float | None], str]  # (figure, "min" or "max")


def dominates(a: Sequence[float], b: Sequence[float], goals: Sequence[str]) -> bool:
    """``a`` is at least as good as ``b`` on every objective and better on one."""
    better = False
    for x, y, goal in zip(a, b, goals, strict=True):
        if (x > y) if goal == "min" else (x < y):
            return False
        if x != y:
            better = True
    return better


def pareto_front(items: Sequence[T], objectives: Sequence[Objective[T]]) -> list[T]:
    """The items no other item dominates, in their given order. Items missing a figure are left
    out (they cannot be compared)."""
    goals = [goal for _, goal in objectives]
    for goal in goals:
        if goal not in ("min", "max"):
            raise ValueError(f"objective goal must be 'min' or 'max', not {goal!r}")
    scored: list[tuple[T, list[float]]] = []
    for item in items:
        values = [get(item) for get, _ in objectives]
        if all(v is not None for v in values):
            scored.append((item, [float(v) for v in values if v is not None]))
    return [
        item
        for item, values in scored
        if not any(dominates(other, values, goals) for _, other in scored if other is not values)
    ]


LATENCY_THROUGHPUT: tuple[Objective[Row], ...] = (
    (lambda r: r.p50_ms, "min"),
    (lambda r: r.sequences_per_s, "max"),
)
WITH_MEMORY: tuple[Objective[Row], ...] = (*LATENCY_THROUGHPUT, (lambda r: r.peak_memory_mb, "min"))


def _latest(rows: Sequence[Row]) -> Row | None:
    return max(rows, key=lambda r: r.created_at) if rows else None


def find_baseline(row: Row, rows: Sequence[Row]) -> Row | None:
    """The fp32 baseline of ``row``: same model, device, batch, workload and workers, fp32 with
    no autocast, int8, pruning or compile. The one with the same attention is preferred, then the
    default attention (sdpa). A plain fp32 row is its own baseline (None), unless it uses another
    attention and a default-attention baseline exists. Among equals, the latest Result."""
    candidates = [
        r for r in rows if r.ok and r.plain and r.baseline_key == row.baseline_key and r is not row
    ]
    default = [r for r in candidates if r.attention == DEFAULT_ATTENTION]
    if row.plain:
        return None if row.attention == DEFAULT_ATTENTION else _latest(default)
    same = [r for r in candidates if r.attention == row.attention]
    return _latest(same) or _latest(default) or _latest(candidates)


def _ratio(top: float | None, bottom: float | None) -> float | None:
    if top is None or bottom is None or bottom == 0:
        return None
    return top / bottom


@dataclass(frozen=True)
class Speedup:
    """``throughput_x``: seq/s ÷ baseline seq/s; ``latency_x``: baseline p50 ÷ p50 (above 1 is
    faster); ``memory_x``: peak memory ÷ baseline's; ``cosine_min``: the quality drift (None when
    not measured)."""

    row: Row
    baseline: Row
    throughput_x: float | None
    latency_x: float | None
    memory_x: float | None
    cosine_min: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.row.file,
            "config": self.row.config,
            "batch": self.row.batching,
            "baseline_file": self.baseline.file,
            "baseline_config": self.baseline.config,
            "sequences_per_s": self.row.sequences_per_s,
            "baseline_sequences_per_s": self.baseline.sequences_per_s,
            "throughput_x": self.throughput_x,
            "latency_x": self.latency_x,
            "memory_x": self.memory_x,
            "cosine_min": self.cosine_min,
        }


def speedups(rows: Sequence[Row]) -> list[Speedup]:
    found = []
    for row in rows:
        if not row.ok:
            continue
        base = find_baseline(row, rows)
        if base is None:
            continue
        found.append(
            Speedup(
                row,
                base,
                _ratio(row.sequences_per_s, base.sequences_per_s),
                _ratio(base.p50_ms, row.p50_ms),
                _ratio(row.peak_memory_mb, base.peak_memory_mb),
                row.cosine_min,
            )
        )
    return found


@dataclass(frozen=True)
class SettingPair:
    """One configuration's real-time row (batch 1) and throughput-optimized row (best seq/s)."""

    config: str
    realtime: Row | None
    throughput: Row | None


def setting_pairs(rows: Sequence[Row]) -> list[SettingPair]:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        if row.ok:
            groups.setdefault(row.config_key, []).append(row)
    pairs = []
    for members in groups.values():
        realtime = _latest([r for r in members if r.batch_size == 1])
        top = best(members, lambda r: r.sequences_per_s, highest=True)
        pairs.append(SettingPair(members[0].config, realtime, top))
    pairs.sort(key=lambda p: -(p.throughput.sequences_per_s or 0.0) if p.throughput else 0.0)
    return pairs


def batch_series(
    rows: Sequence[Row], value: Callable[[Row], float | None]
) -> dict[str, list[tuple[int, float]]]:
    """Per configuration, ``(batch size, figure)`` sorted by batch size: ok rows with a fixed
    batch size only; the latest Result wins when a batch size was run twice."""
    series: dict[str, dict[int, tuple[str, float]]] = {}
    for row in rows:
        figure = value(row)
        if not row.ok or row.batch_size is None or figure is None:
            continue
        points = series.setdefault(row.config, {})
        earlier = points.get(row.batch_size)
        if earlier is None or row.created_at >= earlier[0]:
            points[row.batch_size] = (row.created_at, figure)
    return {
        config: [(batch, figure) for batch, (_, figure) in sorted(points.items())]
        for config, points in series.items()
    }


@dataclass(frozen=True)
class HardwareBest:
    """One model's ok rows on one hardware (``Row.hardware``) and the best of them."""

    hardware: str
    rows: list[Row]
    best_throughput: Row | None
    best_latency: Row | None


def by_hardware(rows: Sequence[Row]) -> list[HardwareBest]:
    """The rows grouped by the hardware they ran on, in the order each first appears."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.hardware, []).append(row)
    return [
        HardwareBest(
            hardware,
            members,
            best(members, lambda r: r.sequences_per_s, highest=True),
            best(members, lambda r: r.p50_ms, highest=False),
        )
        for hardware, members in groups.items()
    ]


@dataclass(frozen=True)
class ModelReport:
    model: str
    rows: list[Row]
    hardware: list[HardwareBest]  # one entry per hardware the model ran on
    pairs: list[SettingPair]
    best_throughput: Row | None
    best_latency: Row | None
    best_cost: Row | None
    pareto: list[Row]  # the front with memory; ``pareto_2d`` marks those on the 2-D front
    pareto_2d: list[Row]
    speedups: list[Speedup]


def model_report(model: str, rows: Sequence[Row]) -> ModelReport:
    ok = [r for r in rows if r.ok]
    front_2d = pareto_front(ok, LATENCY_THROUGHPUT)
    front = pareto_front(ok, WITH_MEMORY)
    front.sort(key=lambda r: (r.p50_ms or 0.0, -(r.sequences_per_s or 0.0)))
    return ModelReport(
        model=model,
        rows=ok,
        hardware=by_hardware(ok),
        pairs=setting_pairs(ok),
        best_throughput=best(ok, lambda r: r.sequences_per_s, highest=True),
        best_latency=best(ok, lambda r: r.p50_ms, highest=False),
        best_cost=best(ok, lambda r: r.usd_per_million, highest=False),
        pareto=front,
        pareto_2d=front_2d,
        speedups=speedups(ok),
    )
