"""One Result's figures as the report uses them (``Row``), read through the typed sections and
the coercion helpers, so that a damaged Result gives missing figures, never an error."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.messages import Status
from engines.spec import RunSpec
from profilers.coerce import integer, table, text
from profilers.export import batching, ms, optimizations, pct, run_device
from profilers.report.performance import setting_of
from profilers.result import Result
from profilers.sections import Sections

DEFAULT_ATTENTION = RunSpec.__dataclass_fields__["attention"].default
# Spec fields that say how long or how often a run was measured, not what ran.
_MEASUREMENT_FIELDS = frozenset(
    {"warmup", "duration_s", "min_iters", "max_iters", "notes", "memory_limit_mb", "seed"}
)
# Spec fields an optimization changes: the fp32 baseline has them at these values.
PLAIN = {
    "dtype": "fp32",
    "autocast": False,
    "int8": "none",
    "prune": "none",
    "prune_layers": 0,
    "prune_heads": 0,
    "packing": False,
    "compile": "none",
}


def quality_cosine_min(result: Result) -> float | None:
    """The Result's quality ``cosine_min`` when it has one (quality may be null)."""
    quality = Sections.of(result).quality
    return None if quality is None else quality.cosine_min


def spec_of(result: Result) -> Mapping[str, Any]:
    return result.spec if isinstance(result.spec, Mapping) else {}


def workload_label(spec: Mapping[str, Any]) -> str:
    if spec.get("fasta"):
        return f"fasta {Path(str(spec['fasta'])).name}"
    if spec.get("lengths"):
        return f"lengths {spec['lengths']}"
    return f"len {spec.get('seq_len')}"


def config_key(spec: Mapping[str, Any], *, drop: Iterable[str] = ()) -> str:
    """What ran, apart from the batch size and how long it was measured, as one string."""
    ignored = _MEASUREMENT_FIELDS | {"batch_size", "token_budget"} | set(drop)
    kept = {k: v for k, v in spec.items() if k not in ignored}
    return json.dumps(kept, sort_keys=True, default=repr)


def _config_label(spec: Mapping[str, Any], optimized: str, device: str) -> str:
    parts = [device, optimized, workload_label(spec)]
    buckets = spec.get("buckets")
    if spec.get("packing"):
        parts.append("packed rows")
    elif spec.get("token_budget"):
        parts.append("token budget")
    elif buckets:
        shown = buckets if isinstance(buckets, list) else [buckets]
        parts.append("buckets " + ",".join(str(b) for b in shown))
    workers = integer(spec.get("workers")) or 1
    if workers > 1:
        parts.append(f"{workers} workers")
    if spec.get("threads"):
        parts.append(f"{spec['threads']} threads")
    if spec.get("weights", "random") != "random":
        parts.append(f"weights {spec['weights']}")
    return " · ".join(parts)


def _is_plain(spec: Mapping[str, Any]) -> bool:
    return all(spec.get(k, v) == v for k, v in PLAIN.items())


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
    hardware: str
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
    usd_per_million_residues: float | None
    parameters: int | None
    seq_len: int | None
    framework: str
    instance_type: str
    software: str
    application_type: str
    run_mode: str
    model_details: str
    config_key: str = field(repr=False)
    baseline_key: str = field(repr=False)
    plain: bool = field(repr=False)

    @property
    def ok(self) -> bool:
        return self.status == Status.OK

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for hidden in ("config_key", "baseline_key", "plain"):
            data.pop(hidden)
        return data


def row_of(result: Result, file: str = "") -> Row:
    spec = spec_of(result)
    sections = Sections.of(result)
    latency, rate, memory = sections.latency, sections.throughput, sections.memory
    allocated = memory.max_allocated if memory else None
    ram = memory.max_ram if memory else None
    peak, kind = (allocated, "allocated") if allocated is not None else (ram, "RSS")
    device = run_device(spec) or "?"
    optimized = optimizations(spec)
    batch = spec.get("batch_size")
    fixed_batch = integer(batch)
    workload = workload_label(spec)
    setting = setting_of(
        environment_of(result),
        spec,
        sections.cost,
        sections.device_name or device,
        f"{optimized}, {workload}",
    )
    return Row(
        file=file or f"{result.run_id}.json",
        run_id=result.run_id,
        created_at=result.created_at,
        status=result.status,
        message=result.message,
        model=str(spec.get("model", "?")),
        device=device,
        device_name=sections.device_name,
        hardware=hardware_of(result, sections.device_name or device),
        optimizations=optimized,
        attention=str(spec.get("attention", DEFAULT_ATTENTION)),
        config=_config_label(spec, optimized, device),
        batching=batching(spec),
        batch_size=None if spec.get("token_budget") else fixed_batch,
        workload=workload,
        sequences_per_s=rate.sequences_per_s if rate else None,
        tokens_per_s=rate.tokens_per_s if rate else None,
        residues_per_s=rate.residues_per_s if rate else None,
        p50_ms=ms(latency.p50) if latency else None,
        p90_ms=ms(latency.p90) if latency else None,
        p99_ms=ms(latency.p99) if latency else None,
        peak_memory_mb=peak,
        memory_kind=kind if peak is not None else None,
        useful_mfu_pct=pct(sections.efficiency.useful_mfu) if sections.efficiency else None,
        joules_per_sequence=sections.energy.joules_per_sequence if sections.energy else None,
        usd_per_million=sections.cost.per_million_sequences if sections.cost else None,
        cosine_min=sections.quality.cosine_min if sections.quality else None,
        parameters=_parameters(result),
        seq_len=None if spec.get("fasta") or spec.get("lengths") else integer(spec.get("seq_len")),
        **setting,
        config_key=config_key(spec),
        baseline_key=config_key(spec, drop=[*PLAIN, "attention"])
        + f"|{batch}|{spec.get('token_budget')}",
        plain=_is_plain(spec),
    )


def _parameters(result: Result) -> int | None:
    """The parameters that ran (as built), else the catalog's count."""
    model = table(result.model) or {}
    return integer(model.get("parameters")) or integer(model.get("expected_parameters"))


def hardware_of(result: Result, device: str) -> str:
    """Where a run ran, as the report groups runs: the instance type (else the host, e.g. a
    cluster node) and the device's name."""
    env = environment_of(result)
    node = table(env.get("node")) or {}
    place = next(
        (
            value
            for value in (
                text(env.get("instance_type")),
                text(node.get("instance_type")),
                text(env.get("host")),
                text(node.get("host")),
            )
            if value
        ),
        None,
    )
    return " · ".join(part for part in (place, device) if part)


def environment_of(result: Result) -> Mapping[str, Any]:
    return result.environment if isinstance(result.environment, Mapping) else {}
