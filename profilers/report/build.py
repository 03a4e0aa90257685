"""A report: the rows of every Result, grouped and picked per model, with the setup they were
measured on (hardware, price, software, workload) and what did not run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engines.messages import Status
from profilers.coerce import number, text
from profilers.layout import SKIPPED
from profilers.report.analysis import ModelReport, model_report
from profilers.report.loading import LoadedResults
from profilers.report.rows import Row, environment_of, row_of, spec_of, workload_label
from profilers.report.training import TrainingRow, training_rows
from profilers.result import Result
from profilers.sections import Sections


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
    training: list[TrainingRow] = field(default_factory=list)

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
            "training": [r.to_dict() for r in self.training],
        }


def _distinct(values: Iterable[Any]) -> str:
    seen: list[str] = []
    for value in values:
        shown = "–" if value in (None, "", []) else str(value)
        if shown not in seen:
            seen.append(shown)
    return "; ".join(seen) if seen else "–"


def _hardware(env: Mapping[str, Any]) -> str:
    cpu = f"{env.get('cpu') or '?'} ({env.get('cpu_count') or '?'} cores"
    memory = number(env.get("memory_bytes"))
    cpu += f", {memory / 1e9:.1f} GB RAM)" if memory else ")"
    gpus = env.get("gpus")
    if isinstance(gpus, list) and gpus:
        names = [str(g.get("name")) for g in gpus if isinstance(g, Mapping)]
        cpu += "; " + ", ".join(f"{names.count(n)}× {n}" for n in dict.fromkeys(names))
    return cpu


def _price(cost: Sections) -> str:
    price = cost.cost
    if price is None:
        return "no price given (cost not computed)"
    rate = price.usd_per_hour
    parts = [f"{rate:g} USD/h" if rate is not None else "? USD/h", str(price.price_kind)]
    if price.instance_type:
        parts.append(price.instance_type)
    parts.append(f"(rate dated {price.price_date or 'unknown'}; {price.source})")
    if price.verified is False:
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
    envs = [environment_of(r) for r in results]
    specs = [spec_of(r) for r in results]
    created = sorted(r.created_at for r in results if r.created_at)
    rows = [
        ("hardware", _distinct(_hardware(e) for e in envs)),
        ("instance type", _distinct(e.get("instance_type") for e in envs)),
        ("price", _distinct(_price(Sections.of(r)) for r in results)),
        ("software", _distinct(_software(e) for e in envs)),
        ("platform", _distinct(e.get("platform") for e in envs)),
        ("models", _distinct(s.get("model") for s in specs)),
        ("workload", _distinct(workload_label(s) for s in specs)),
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
            SKIPPED,
            Status.INTERRUPTED,
            Status.ERROR,
        ):
            if point.get("status") != SKIPPED and point.get("run_id"):
                continue  # a Result exists: it is listed with the failed ones
            settings = point.get("settings")
            settings = settings if isinstance(settings, Mapping) else {}
            label = text(point.get("key")) or ", ".join(f"{k}={v}" for k, v in settings.items())
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
    searches = loaded.max_batch.get("searches") if loaded.max_batch else None
    if isinstance(searches, list):
        max_batch = [s for s in searches if isinstance(s, Mapping)]
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
        training=training_rows(loaded.results),
    )
