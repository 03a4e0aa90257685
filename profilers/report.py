"""Benchmark reports from saved Results: the tables pLM papers print.

Pure logic (no printing): load a folder of Results, turn each into a ``Row`` of the figures the
report uses, group them per model and configuration, pick real-time (batch 1) and
throughput-optimized settings, the best configuration for throughput, latency and cost, the Pareto
front of latency against throughput (and memory), and speed-ups against the fp32 baseline with the
quality drift beside them. ``render_report`` writes the result as Markdown, CSV or JSON.

Every figure in the tables is read from a Result as it was saved (``row_of``); nothing is
re-measured or estimated here.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from engines.errors import InvalidInputError, PlmprofError
from engines.spec import RunSpec
from profilers.export import COLUMNS, format_value, markdown_table, summary_row
from profilers.result import Result, load_result

REPORT_FORMATS = ("md", "csv", "json")
# Files in a sweep folder that are not Results.
SWEEP_FILES = ("sweep.json", "max-batch.json")
DEFAULT_ATTENTION = RunSpec.__dataclass_fields__["attention"].default
# Spec fields that say how long or how often a run was measured, not what ran.
_MEASUREMENT_FIELDS = frozenset(
    {"warmup", "duration_s", "min_iters", "max_iters", "notes", "memory_limit_mb", "seed"}
)
# Spec fields an optimization changes: the fp32 baseline has them at these values.
_PLAIN = {
    "dtype": "fp32",
    "autocast": False,
    "int8": "none",
    "prune": "none",
    "prune_layers": 0,
    "prune_heads": 0,
    "packing": False,
    "compile": "none",
}

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


@dataclass
class LoadedResults:
    """Results read from a folder (``(file name, Result)``, sorted by name), the files that could
    not be read and why, and the sweep and max-batch files when present."""

    folder: Path
    results: list[tuple[str, Result]] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    sweep: dict[str, Any] | None = None
    max_batch: dict[str, Any] | None = None
    probes: list[Result] = field(default_factory=list)  # max-batch probes (for the setup)


def _read_side_file(path: Path, kind: str, loaded: LoadedResults) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        loaded.unreadable.append((path.name, f"not JSON: {exc}"))
        return None
    if not isinstance(data, dict) or data.get("kind") != kind:
        loaded.unreadable.append((path.name, f"not a {kind} file"))
        return None
    return data


def read_result(path: str | Path) -> Result:
    """``load_result``, plus a check that the fields the report and comparisons read have the
    right shape: anything else is an ``InvalidInputError`` naming the file."""
    try:
        result = load_result(path)
    except TypeError as exc:
        raise InvalidInputError(f"'{path}' is not a plmprof result ({exc})") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read '{path}': {exc.strerror or exc}") from None
    for name in ("spec", "environment"):
        if not isinstance(getattr(result, name), Mapping):
            raise InvalidInputError(f"'{path}' is not a plmprof result ('{name}' is not a table)")
    for name in ("run_id", "status", "created_at"):
        if not isinstance(getattr(result, name), str):
            raise InvalidInputError(f"'{path}' is not a plmprof result ('{name}' is not text)")
    if not isinstance(result.workers, list):
        result.workers = []
    return result


def load_folder(path: str | Path, *, required: bool = True) -> LoadedResults:
    """Every Result JSON directly in ``path`` (a folder; or one Result file). Files that are not
    Results are listed in ``unreadable`` with the reason, never fatal. With ``required``, a folder
    without any Result (and no max-batch file) is an error."""
    source = Path(path)
    if not source.exists():
        raise InvalidInputError(f"'{source}' does not exist")
    folder = source if source.is_dir() else source.parent
    loaded = LoadedResults(folder)
    files = sorted(source.glob("*.json")) if source.is_dir() else [source]
    for file in files:
        if file.name == "sweep.json":
            loaded.sweep = _read_side_file(file, "plmprof-sweep", loaded)
            continue
        if file.name == "max-batch.json":
            loaded.max_batch = _read_side_file(file, "plmprof-max-batch", loaded)
            continue
        try:
            loaded.results.append((file.name, read_result(file)))
        except PlmprofError as exc:
            loaded.unreadable.append((file.name, str(exc)))
    if loaded.max_batch is not None and (folder / "probes").is_dir():
        for file in sorted((folder / "probes").glob("*.json")):
            try:
                loaded.probes.append(read_result(file))
            except PlmprofError as exc:
                loaded.unreadable.append((f"probes/{file.name}", str(exc)))
    if required and not loaded.results and loaded.max_batch is None:
        where = f"folder '{source}'" if source.is_dir() else f"'{source}'"
        detail = f" ({len(loaded.unreadable)} unreadable JSON files)" if loaded.unreadable else ""
        raise InvalidInputError(f"no plmprof results in {where}{detail}")
    return loaded


# ---------------------------------------------------------------------------------------------
# Rows: one Result's figures as the report uses them
# ---------------------------------------------------------------------------------------------


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def quality_cosine_min(result: Result) -> float | None:
    """``result.quality["cosine_min"]`` when the Result has one (quality may be null)."""
    quality = result.quality
    if not isinstance(quality, Mapping):
        return None
    return _number(quality.get("cosine_min"))


def _workload(spec: Mapping[str, Any]) -> str:
    if spec.get("fasta"):
        return f"fasta {Path(str(spec['fasta'])).name}"
    if spec.get("lengths"):
        return f"lengths {spec['lengths']}"
    return f"len {spec.get('seq_len')}"


def config_key(spec: Mapping[str, Any], *, drop: Iterable[str] = ()) -> str:
    """What ran, apart from the batch size and how long it was measured, as one string."""
    ignored = _MEASUREMENT_FIELDS | {"batch_size", "token_budget"} | set(drop)
    return json.dumps({k: v for k, v in spec.items() if k not in ignored}, sort_keys=True)


def _config_label(spec: Mapping[str, Any], optimizations: str, device: str) -> str:
    parts = [device, optimizations, _workload(spec)]
    if spec.get("packing"):
        parts.append("packed rows")
    elif spec.get("token_budget"):
        parts.append("token budget")
    elif spec.get("buckets"):
        parts.append("buckets " + ",".join(str(b) for b in spec["buckets"]))
    if (spec.get("workers") or 1) > 1:
        parts.append(f"{spec['workers']} workers")
    if spec.get("threads"):
        parts.append(f"{spec['threads']} threads")
    if spec.get("weights", "random") != "random":
        parts.append(f"weights {spec['weights']}")
    return " · ".join(parts)


def _is_plain(spec: Mapping[str, Any]) -> bool:
    return all(spec.get(k, v) == v for k, v in _PLAIN.items())


@dataclass(frozen=True)
class Row:
    """The report's figures of one Result, read as saved. Latency in ms (per batch), memory in
    MB (``memory_kind`` says which: the allocator's peak on CUDA, else the worker's peak RSS)."""

    file: str
    run_id: str
    created_at: str
    status: str
    message: str | None
    model: str
    device: str
    device_name: str | None
    optimizations: str
    attention: str
    config: str
    batching: str
    batch_size: int | None
    workload: str
    sequences_per_s: float | None
    tokens_per_s: float | None
    residues_per_s: float | None
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    peak_memory_mb: float | None
    memory_kind: str | None
    useful_mfu_pct: float | None
    joules_per_sequence: float | None
    usd_per_million: float | None
    cosine_min: float | None
    config_key: str = field(repr=False)
    baseline_key: str = field(repr=False)
    plain: bool = field(repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for hidden in ("config_key", "baseline_key", "plain"):
            data.pop(hidden)
        return data


def row_of(result: Result, file: str = "") -> Row:
    spec = result.spec if isinstance(result.spec, Mapping) else {}
    summary = summary_row(result)
    allocated = _number(_get(result.memory, "max_allocated"))
    ram = _number(_get(result.memory, "max_ram"))
    memory, kind = (allocated, "allocated") if allocated is not None else (ram, "RSS")
    device = str(summary.get("device") or "?")
    optimizations = str(summary.get("optimizations") or "")
    batch = spec.get("batch_size")
    return Row(
        file=file or f"{result.run_id}.json",
        run_id=result.run_id,
        created_at=result.created_at,
        status=result.status,
        message=result.message,
        model=str(spec.get("model", "?")),
        device=device,
        device_name=next(
            (w.get("device_name") for w in result.workers if w.get("device_name")), None
        ),
        optimizations=optimizations,
        attention=str(spec.get("attention", DEFAULT_ATTENTION)),
        config=_config_label(spec, optimizations, device),
        batching=str(summary.get("batch")),
        batch_size=None if spec.get("token_budget") or not isinstance(batch, int) else batch,
        workload=_workload(spec),
        sequences_per_s=_number(summary.get("sequences_per_s")),
        tokens_per_s=_number(summary.get("tokens_per_s")),
        residues_per_s=_number(summary.get("residues_per_s")),
        p50_ms=_number(summary.get("p50_ms")),
        p90_ms=_ms(_get(result.latency, "p90")),
        p99_ms=_number(summary.get("p99_ms")),
        peak_memory_mb=memory,
        memory_kind=kind if memory is not None else None,
        useful_mfu_pct=_number(summary.get("useful_mfu_pct")),
        joules_per_sequence=_number(summary.get("joules_per_sequence")),
        usd_per_million=_number(summary.get("usd_per_million")),
        cosine_min=quality_cosine_min(result),
        config_key=config_key(spec),
        baseline_key=config_key(spec, drop=[*_PLAIN, "attention"])
        + f"|{batch}|{spec.get('token_budget')}",
        plain=_is_plain(spec),
    )


def _device_name(result: Result) -> str | None:
    names = [w.get("device_name") for w in result.workers if isinstance(w, Mapping)]
    return next((str(n) for n in names if n), None)


def _ms(seconds: Any) -> float | None:
    value = _number(seconds)
    return None if value is None else value * 1000


# ---------------------------------------------------------------------------------------------
# Picks: best-of, Pareto, speed-ups
# ---------------------------------------------------------------------------------------------


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
class ModelReport:
    model: str
    rows: list[Row]
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
        pairs=setting_pairs(ok),
        best_throughput=best(ok, lambda r: r.sequences_per_s, highest=True),
        best_latency=best(ok, lambda r: r.p50_ms, highest=False),
        best_cost=best(ok, lambda r: r.usd_per_million, highest=False),
        pareto=front,
        pareto_2d=front_2d,
        speedups=speedups(ok),
    )


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


@dataclass
class Report:
    source: str
    rows: list[Row]
    setup: list[tuple[str, str]]
    models: list[ModelReport]
    failed: list[Row]
    skipped: list[dict[str, Any]]
    unreadable: list[tuple[str, str]]
    max_batch: list[dict[str, Any]]
    results: list[tuple[str, Result]] = field(repr=False, default_factory=list)
    plots: list[tuple[str, str]] = field(default_factory=list)  # (title, path)

    def to_dict(self) -> dict[str, Any]:
        def name(row: Row | None) -> str | None:
            return None if row is None else row.file

        return {
            "kind": "plmprof-report",
            "source": self.source,
            "setup": dict(self.setup),
            "rows": [r.to_dict() for r in self.rows],
            "models": [
                {
                    "model": m.model,
                    "settings": [
                        {
                            "config": p.config,
                            "realtime": name(p.realtime),
                            "throughput": name(p.throughput),
                        }
                        for p in m.pairs
                    ],
                    "best": {
                        "throughput": name(m.best_throughput),
                        "latency": name(m.best_latency),
                        "cost": name(m.best_cost),
                    },
                    "pareto": [
                        {"file": r.file, "latency_throughput_front": r in m.pareto_2d}
                        for r in m.pareto
                    ],
                    "speedups": [s.to_dict() for s in m.speedups],
                }
                for m in self.models
            ],
            "failed": [
                {"file": r.file, "status": r.status, "message": r.message} for r in self.failed
            ],
            "skipped": self.skipped,
            "unreadable": [{"file": f, "reason": why} for f, why in self.unreadable],
            "max_batch": self.max_batch,
            "plots": [{"title": t, "path": p} for t, p in self.plots],
        }


def _distinct(values: Iterable[Any]) -> str:
    seen: list[str] = []
    for value in values:
        text = "–" if value in (None, "", []) else str(value)
        if text not in seen:
            seen.append(text)
    return "; ".join(seen) if seen else "–"


def _hardware(env: Mapping[str, Any]) -> str:
    cpu = f"{env.get('cpu') or '?'} ({env.get('cpu_count') or '?'} cores"
    memory = _number(env.get("memory_bytes"))
    cpu += f", {memory / 1e9:.1f} GB RAM)" if memory else ")"
    gpus = env.get("gpus") or []
    if gpus:
        names = [str(g.get("name")) for g in gpus if isinstance(g, Mapping)]
        cpu += "; " + ", ".join(f"{names.count(n)}× {n}" for n in dict.fromkeys(names))
    return cpu


def _price(cost: Mapping[str, Any] | None) -> str:
    if not isinstance(cost, Mapping):
        return "no price given (cost not computed)"
    rate = _number(cost.get("usd_per_hour"))
    parts = [f"{rate:g} USD/h" if rate is not None else "? USD/h", str(cost.get("price_kind"))]
    if cost.get("instance_type"):
        parts.append(str(cost["instance_type"]))
    parts.append(f"(rate dated {cost.get('price_date') or 'unknown'}; {cost.get('source')})")
    if cost.get("verified") is False:
        parts.append("UNVERIFIED")
    return " ".join(parts)


def _software(env: Mapping[str, Any]) -> str:
    names = (
        ("plmprof", "plmprof"),
        ("python", "Python"),
        ("torch", "torch"),
        ("transformers", "transformers"),
        ("torch_neuronx", "torch-neuronx"),
        ("cuda_runtime", "CUDA"),
        ("cuda_driver", "driver"),
    )
    return ", ".join(f"{label} {env[key]}" for key, label in names if env.get(key))


def _measurement(spec: Mapping[str, Any]) -> str:
    text = (
        f"warm-up {spec.get('warmup')}, at least {spec.get('duration_s')} s "
        f"and {spec.get('min_iters')} batches"
    )
    if spec.get("max_iters"):
        text += f", at most {spec['max_iters']} batches"
    return text


def setup_rows(results: Sequence[Result]) -> list[tuple[str, str]]:
    """Hardware, instance and price (with its date), software and workload, as (label, text);
    values that differ between Results are all listed."""
    envs = [r.environment if isinstance(r.environment, Mapping) else {} for r in results]
    specs = [r.spec if isinstance(r.spec, Mapping) else {} for r in results]
    created = sorted(r.created_at for r in results if r.created_at)
    rows = [
        ("hardware", _distinct(_hardware(e) for e in envs)),
        ("instance type", _distinct(e.get("instance_type") for e in envs)),
        ("price", _distinct(_price(r.cost) for r in results)),
        ("software", _distinct(_software(e) for e in envs)),
        ("platform", _distinct(e.get("platform") for e in envs)),
        ("models", _distinct(s.get("model") for s in specs)),
        ("workload", _distinct(_workload(s) for s in specs)),
        ("weights", _distinct(s.get("weights") for s in specs)),
        ("measurement", _distinct(_measurement(s) for s in specs)),
        (
            "methods",
            "latency per batch, nearest-rank percentiles; throughput = completed sequences ÷ "
            "measured wall-clock window; peak memory = allocator peak on CUDA, worker peak RSS "
            "otherwise",
        ),
        ("results", f"{len(results)} ({created[0]} to {created[-1]})" if created else "0"),
    ]
    return rows


def _skipped(sweep: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not isinstance(sweep, Mapping):
        return []
    points = sweep.get("points")
    if not isinstance(points, list):
        return []
    out = []
    for point in points:
        if isinstance(point, Mapping) and point.get("status") in (
            "skipped",
            "interrupted",
            "error",
        ):
            if point.get("status") != "skipped" and point.get("run_id"):
                continue  # a Result exists: it is listed with the failed ones
            settings = point.get("settings") or {}
            label = point.get("key") or ", ".join(f"{k}={v}" for k, v in settings.items())
            out.append(
                {"point": label, "status": point.get("status"), "reason": point.get("reason")}
            )
    return out


def build_report(loaded: LoadedResults) -> Report:
    rows = [row_of(result, name) for name, result in loaded.results]
    models: dict[str, list[Row]] = {}
    for row in rows:
        models.setdefault(row.model, []).append(row)
    max_batch = []
    if isinstance(loaded.max_batch, Mapping):
        max_batch = [s for s in loaded.max_batch.get("searches") or [] if isinstance(s, Mapping)]
    return Report(
        source=str(loaded.folder),
        rows=rows,
        setup=setup_rows([r for _, r in loaded.results] or loaded.probes),
        models=[model_report(m, members) for m, members in models.items()],
        failed=[r for r in rows if not r.ok],
        skipped=_skipped(loaded.sweep),
        unreadable=list(loaded.unreadable),
        max_batch=[dict(s) for s in max_batch],
        results=list(loaded.results),
    )


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def times(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _figure_row(row: Row) -> list[Any]:
    return [
        row.sequences_per_s,
        row.p50_ms,
        row.p99_ms,
        row.peak_memory_mb,
        row.useful_mfu_pct,
        row.joules_per_sequence,
        row.usd_per_million,
    ]


FIGURE_HEADERS = ["seq/s", "p50 ms", "p99 ms", "peak mem MB", "MFU %", "J/seq", "$/1M seq"]


def _model_markdown(model: ModelReport) -> str:
    out = [f"## {model.model}\n"]
    if not model.rows:
        return out[0] + "\nNo point of this model ended ok.\n"
    out.append("### Real-time (batch 1) and throughput-optimized settings\n")
    table = []
    for pair in model.pairs:
        for label, row in (("real-time", pair.realtime), ("throughput", pair.throughput)):
            if row is not None:
                table.append([label, pair.config, row.batching, *_figure_row(row)])
    out.append(markdown_table(["setting", "configuration", "batch", *FIGURE_HEADERS], table))
    out.append("\n### Best configuration\n")
    goals = (
        ("throughput", model.best_throughput, lambda r: r.sequences_per_s, "seq/s"),
        ("latency (p50)", model.best_latency, lambda r: r.p50_ms, "ms"),
        ("cost", model.best_cost, lambda r: r.usd_per_million, "USD per 1M sequences"),
    )
    best_rows = []
    for goal, row, value, unit in goals:
        if row is None:
            reason = "no price known" if goal == "cost" else "not measured"
            best_rows.append([goal, "–", "–", reason])
        else:
            best_rows.append([goal, row.config, row.batching, f"{format_value(value(row))} {unit}"])
    out.append(markdown_table(["best for", "configuration", "batch", "figure"], best_rows))
    out.append("\n### Pareto front: latency against throughput (and memory)\n")
    front = [
        [
            r.config,
            r.batching,
            r.p50_ms,
            r.sequences_per_s,
            r.peak_memory_mb,
            "yes" if r in model.pareto_2d else "with memory only",
        ]
        for r in model.pareto
    ]
    out.append(
        markdown_table(
            ["configuration", "batch", "p50 ms", "seq/s", "peak mem MB", "latency–throughput"],
            front,
        )
    )
    out.append("\n### Speed-ups against the fp32 baseline\n")
    if model.speedups:
        rows = [
            [
                s.row.config,
                s.row.batching,
                s.baseline.config,
                s.row.sequences_per_s,
                s.baseline.sequences_per_s,
                times(s.throughput_x),
                times(s.latency_x),
                times(s.memory_x),
                s.cosine_min,
            ]
            for s in model.speedups
        ]
        out.append(
            markdown_table(
                [
                    "configuration",
                    "batch",
                    "baseline",
                    "seq/s",
                    "baseline seq/s",
                    "throughput ×",
                    "p50 ×",
                    "memory ×",
                    "cosine min",
                ],
                rows,
            )
        )
        out.append(
            "\nThroughput × = seq/s ÷ baseline seq/s; p50 × = baseline p50 ÷ p50 (above 1 is "
            "faster); memory × = peak memory ÷ baseline's; cosine min: quality drift against the "
            "fp32 reference (– when not measured).\n"
        )
    else:
        out.append(
            "No optimized point has a measured fp32 baseline (same model, device and batch; "
            "fp32, no int8, pruning or compile).\n"
        )
    return "\n".join(out)


def to_markdown(report: Report) -> str:
    ok = sum(r.ok for r in report.rows)
    lines = [
        "# plmprof benchmark report\n",
        f"{len(report.rows)} results from `{report.source}`: {ok} ok, {len(report.failed)} "
        f"failed or stopped; {len(report.skipped)} grid points not run.\n",
        "## Setup\n",
        markdown_table(["", ""], [list(pair) for pair in report.setup]),
    ]
    for model in report.models:
        lines.append(_model_markdown(model))
    if report.max_batch:
        lines.append("## Largest batch that fits\n")
        rows = [
            [
                s.get("model"),
                s.get("device"),
                s.get("largest_ok"),
                s.get("smallest_too_big"),
                s.get("memory_limit_mb") or "device memory",
                s.get("stopped") or "",
            ]
            for s in report.max_batch
        ]
        headers = ["model", "device", "largest ok", "smallest oom", "memory cap MB", "note"]
        lines.append(markdown_table(headers, rows))
    if report.rows:
        lines.append("## All results\n")
        shown = [c for c in COLUMNS if c[0] not in ("run_id", "message")]
        table = [[name, *(get(result) for _, _, get in shown)] for name, result in report.results]
        lines.append(markdown_table(["file", *(h for _, h, _ in shown)], table))
    problems = [[r.file, r.status, r.message or ""] for r in report.failed]
    problems += [[s["point"], s["status"], s.get("reason") or ""] for s in report.skipped]
    problems += [[f, "unreadable", why] for f, why in report.unreadable]
    if problems:
        lines.append("## Failed, stopped and skipped points\n")
        lines.append(markdown_table(["point", "status", "reason"], problems))
    if report.plots:
        lines.append("## Plots\n")
        lines.extend(f"![{title}]({path})\n" for title, path in report.plots)
    return "\n".join(lines)


CSV_FIELDS = (
    "file",
    "run_id",
    "status",
    "model",
    "device",
    "device_name",
    "optimizations",
    "config",
    "workload",
    "batching",
    "batch_size",
    "sequences_per_s",
    "tokens_per_s",
    "residues_per_s",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "peak_memory_mb",
    "memory_kind",
    "useful_mfu_pct",
    "joules_per_sequence",
    "usd_per_million",
    "cosine_min",
    "realtime",
    "throughput_optimized",
    "best_for",
    "pareto",
    "baseline_file",
    "throughput_x",
    "latency_x",
    "memory_x",
    "message",
)


def to_csv(report: Report) -> str:
    """One row per Result with the report's figures and what the report picked it for."""
    flags: dict[str, dict[str, Any]] = {r.file: {} for r in report.rows}
    for model in report.models:
        for pair in model.pairs:
            if pair.realtime is not None:
                flags[pair.realtime.file]["realtime"] = True
            if pair.throughput is not None:
                flags[pair.throughput.file]["throughput_optimized"] = True
        for goal, row in (
            ("throughput", model.best_throughput),
            ("latency", model.best_latency),
            ("cost", model.best_cost),
        ):
            if row is not None:
                entry = flags[row.file]
                entry["best_for"] = ";".join(filter(None, [entry.get("best_for"), goal]))
        for row in model.pareto:
            flags[row.file]["pareto"] = "latency-throughput" if row in model.pareto_2d else "memory"
        for s in model.speedups:
            flags[s.row.file].update(
                baseline_file=s.baseline.file,
                throughput_x=s.throughput_x,
                latency_x=s.latency_x,
                memory_x=s.memory_x,
            )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(CSV_FIELDS), extrasaction="ignore")
    writer.writeheader()
    for row in report.rows:
        data = {**row.to_dict(), "realtime": False, "throughput_optimized": False}
        writer.writerow({**data, **flags[row.file]})
    return buffer.getvalue()


def render_report(report: Report, fmt: str) -> str:
    if fmt not in REPORT_FORMATS:
        raise InvalidInputError(f"report format '{fmt}' is not one of {', '.join(REPORT_FORMATS)}")
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2) + "\n"
    return to_csv(report) if fmt == "csv" else to_markdown(report)
