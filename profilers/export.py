"""Write Results as JSON, CSV or Markdown. One row shape (``summary_row``) serves every table."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from typing import Any

from engines.errors import InvalidInputError
from profilers.result import Result

FORMATS = ("json", "csv", "md")


def _get(data: dict[str, Any] | None, *path: str) -> Any:
    value: Any = data
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _optimizations(spec: dict[str, Any]) -> str:
    parts = [spec.get("dtype", "fp32")]
    if spec.get("autocast"):
        parts.append("autocast")
    if spec.get("int8", "none") != "none":
        parts.append(f"int8-{spec['int8']}")
    if spec.get("prune", "none") != "none":
        parts.append(f"prune-{spec['prune']}")
    for key in ("prune_layers", "prune_heads"):
        if spec.get(key):
            parts.append(f"{key.replace('_', '-')}={spec[key]}")
    parts.append(spec.get("attention", "sdpa"))
    if spec.get("packing"):
        parts.append("packed")
    if spec.get("compile", "none") != "none":
        parts.append(f"compile-{spec['compile']}")
    return " ".join(parts)


def _batching(spec: dict[str, Any]) -> str:
    if spec.get("buckets"):
        return f"{spec['batch_size']}@buckets"
    if spec.get("token_budget"):
        return f"budget {spec['token_budget']}"
    return str(spec.get("batch_size"))


# (column, header, getter) — the one definition of a summary table row.
COLUMNS: tuple[tuple[str, str, Callable[[Result], Any]], ...] = (
    ("run_id", "run", lambda r: r.run_id),
    ("model", "model", lambda r: r.spec.get("model")),
    ("device", "device", lambda r: ",".join(r.spec.get("devices") or []) or r.spec.get("device")),
    ("optimizations", "optimizations", lambda r: _optimizations(r.spec)),
    ("batch", "batch", lambda r: _batching(r.spec)),
    ("workers", "workers", lambda r: r.spec.get("workers")),
    ("status", "status", lambda r: r.status),
    ("p50_ms", "p50 ms", lambda r: _ms(_get(r.latency, "p50"))),
    ("p99_ms", "p99 ms", lambda r: _ms(_get(r.latency, "p99"))),
    ("sequences_per_s", "seq/s", lambda r: _get(r.throughput, "sequences_per_s")),
    ("tokens_per_s", "tok/s", lambda r: _get(r.throughput, "tokens_per_s")),
    ("residues_per_s", "res/s", lambda r: _get(r.throughput, "residues_per_s")),
    ("max_ram_mb", "RSS MB", lambda r: _get(r.memory, "max_ram")),
    ("max_allocated_mb", "alloc MB", lambda r: _get(r.memory, "max_allocated")),
    ("useful_mfu_pct", "MFU %", lambda r: _pct(_get(r.efficiency, "useful_mfu"))),
    ("joules_per_sequence", "J/seq", lambda r: _get(r.energy, "joules_per_sequence")),
    ("usd_per_million", "$/1M", lambda r: _get(r.cost, "per_million_sequences")),
    ("message", "message", lambda r: r.message),
)


def _ms(seconds: Any) -> float | None:
    return None if seconds is None else seconds * 1000


def _pct(fraction: Any) -> float | None:
    return None if fraction is None else fraction * 100


def summary_row(result: Result) -> dict[str, Any]:
    return {name: get(result) for name, _, get in COLUMNS}


def format_value(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value == 0 or abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3g}"
    return str(value)


def to_json(results: Sequence[Result]) -> str:
    payload: Any = results[0].to_dict() if len(results) == 1 else [r.to_dict() for r in results]
    return json.dumps(payload, indent=2) + "\n"


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
    shown = [c for c in COLUMNS if c[0] not in ("run_id", "message")]
    table = markdown_table(
        [h for _, h, _ in shown], [[get(r) for _, _, get in shown] for r in results]
    )
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
