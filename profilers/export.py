"""Write Results as JSON, CSV or Markdown. One row shape (``summary_row``) serves every table."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engines.errors import InvalidInputError
from profilers.coerce import integer, number, text
from profilers.files import dumps
from profilers.labels import unbacked_percentiles
from profilers.result import Result
from profilers.sections import Sections

FORMATS = ("json", "csv", "md")
# What a table shows for a figure that was not measured (never a zero).
MISSING = "–"


def optimizations(spec: Mapping[str, Any]) -> str:
    """dtype and every optimization a run used, in one line (``fp16 int8-dynamic sdpa``)."""
    parts = [str(spec.get("dtype", "fp32"))]
    if spec.get("mode") == "training":  # a training run's weights are fp32, dtype is autocast
        parts.insert(0, f"train-{spec.get('task')}-{spec.get('finetune')}")
        if spec.get("grad_checkpointing"):
            parts.append("checkpointing")
    if spec.get("autocast"):
        parts.append("autocast")
    if spec.get("int8", "none") != "none":
        parts.append(f"int8-{spec['int8']}")
    if spec.get("prune", "none") != "none":
        parts.append(f"prune-{spec['prune']}")
    for key in ("prune_layers", "prune_heads"):
        if spec.get(key):
            parts.append(f"{key.replace('_', '-')}={spec[key]}")
    parts.append(str(spec.get("attention", "sdpa")))
    if spec.get("packing"):
        parts.append("packed")
    if spec.get("compile", "none") != "none":
        parts.append(f"compile-{spec['compile']}")
    return " ".join(parts)


def batching(spec: Mapping[str, Any]) -> str:
    """The batching of a run: ``8``, ``8@buckets`` or ``budget 4096``."""
    if spec.get("buckets"):
        return f"{spec.get('batch_size')}@buckets"
    if spec.get("token_budget"):
        return f"budget {spec['token_budget']}"
    return str(spec.get("batch_size"))


def run_device(spec: Mapping[str, Any]) -> str | None:
    """The device a run used, or its workers' devices joined by commas."""
    devices = spec.get("devices")
    if isinstance(devices, list) and devices:
        return ",".join(str(d) for d in devices)
    return text(spec.get("device"))


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def pct(fraction: float | None) -> float | None:
    return None if fraction is None else fraction * 100


@dataclass(frozen=True)
class Figures:
    """A Result with its spec and typed sections, read once for every column."""

    result: Result
    spec: Mapping[str, Any]
    sections: Sections

    @classmethod
    def of(cls, result: Result) -> Figures:
        spec = result.spec if isinstance(result.spec, Mapping) else {}
        return cls(result, spec, Sections.of(result))

    def latency_ms(self, name: str) -> float | None:
        latency = self.sections.latency
        return ms(getattr(latency, name)) if latency else None


def _section(figures: Figures, section: str, name: str) -> Any:
    value = getattr(figures.sections, section)
    return None if value is None else getattr(value, name)


def _workload(figures: Figures, *path: str) -> Any:
    """A figure of the Result's ``workload`` section (no typed section: coverage is nested)."""
    value: Any = figures.result.workload
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


# (column, header, getter) — the one definition of a summary table row.
COLUMNS: tuple[tuple[str, str, Callable[[Figures], Any]], ...] = (
    ("run_id", "run", lambda f: f.result.run_id),
    ("model", "model", lambda f: f.spec.get("model")),
    ("device", "device", lambda f: run_device(f.spec)),
    ("optimizations", "optimizations", lambda f: optimizations(f.spec)),
    ("batch", "batch", lambda f: batching(f.spec)),
    ("workers", "workers", lambda f: f.spec.get("workers")),
    ("status", "status", lambda f: f.result.status),
    ("p50_ms", "p50 ms", lambda f: f.latency_ms("p50")),
    ("p99_ms", "p99 ms", lambda f: f.latency_ms("p99")),
    # percentiles too few samples back (LoadGen's rule: p90 needs 64, p99 662), space-separated
    (
        "few_samples",
        "few samples",
        lambda f: " ".join(unbacked_percentiles(f.result.latency)) or None,
    ),
    ("sequences_per_s", "seq/s", lambda f: _section(f, "throughput", "sequences_per_s")),
    ("tokens_per_s", "tok/s", lambda f: _section(f, "throughput", "tokens_per_s")),
    ("residues_per_s", "res/s", lambda f: _section(f, "throughput", "residues_per_s")),
    ("coverage_pct", "covered %", lambda f: pct(number(_workload(f, "coverage", "fraction")))),
    ("truncated", "cut", lambda f: integer(_workload(f, "truncated"))),
    ("max_ram_mb", "RSS MB", lambda f: _section(f, "memory", "max_ram")),
    ("max_allocated_mb", "alloc MB", lambda f: _section(f, "memory", "max_allocated")),
    ("useful_mfu_pct", "MFU %", lambda f: pct(_section(f, "efficiency", "useful_mfu"))),
    ("joules_per_sequence", "J/seq", lambda f: _section(f, "energy", "joules_per_sequence")),
    ("usd_per_million", "$/1M", lambda f: _section(f, "cost", "per_million_sequences")),
    ("contended", "contended", lambda f: _section(f, "contention", "contended")),
    ("message", "message", lambda f: f.result.message),
)


# The columns that say what ran, and those holding what was measured (in COLUMNS' names).
RUN_COLUMNS: tuple[str, ...] = ("run_id", "model", "device", "optimizations", "batch", "status")
MEASURED_COLUMNS: tuple[str, ...] = (
    "p50_ms",
    "p99_ms",
    "sequences_per_s",
    "max_ram_mb",
    "max_allocated_mb",
    "useful_mfu_pct",
    "joules_per_sequence",
    "usd_per_million",
)


def summary_row(result: Result) -> dict[str, Any]:
    figures = Figures.of(result)
    return {name: get(figures) for name, _, get in COLUMNS}


def format_value(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float):
        if value == 0 or abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        text = f"{value:.3g}"
        # A value just under 1 (a cosine of 0.99956) must not read as exactly 1.
        return f"{value:.6g}" if abs(float(text)) == 1 else text
    return str(value)


def to_json(results: Sequence[Result]) -> str:
    payload: Any = results[0].to_dict() if len(results) == 1 else [r.to_dict() for r in results]
    return dumps(payload, indent=2) + "\n"


def to_csv(results: Sequence[Result]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[name for name, _, _ in COLUMNS])
    writer.writeheader()
    for result in results:
        writer.writerow(summary_row(result))
    return buffer.getvalue()


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        cells = [format_value(v).replace("|", "\\|") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_markdown(results: Sequence[Result]) -> str:
    shown = [(name, header) for name, header, _ in COLUMNS if name not in ("run_id", "message")]
    rows = [summary_row(r) for r in results]
    table = markdown_table([h for _, h in shown], [[row[n] for n, _ in shown] for row in rows])
    notes = [f"- {r.run_id}: {r.status}: {r.message}" for r in results if r.message]
    text = "# plmprof results\n\n" + table
    if notes:
        text += "\n" + "\n".join(notes) + "\n"
    return text


def render(results: Sequence[Result], fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInputError(f"export format '{fmt}' is not one of {', '.join(FORMATS)}")
    if not results:
        raise InvalidInputError("nothing to export: no results")
    return {"json": to_json, "csv": to_csv, "md": to_markdown}[fmt](results)
