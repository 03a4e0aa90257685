"""Short words for how a run grouped its sequences, shared by summaries, live views and reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from profilers.stats import PERCENTILES, min_samples, percentile_key


def batching_label(spec: Mapping[str, Any]) -> str:
    """``batch 8``, ``budget 4096 tok``, ``batch 8 · buckets 128,256`` or ``packed 4096 tok``
    (``packed 8×longest`` when packing without a token budget)."""
    budget = spec.get("token_budget")
    if spec.get("packing"):
        return f"packed {budget} tok" if budget else f"packed {spec.get('batch_size')}×longest"
    if budget:
        return f"budget {budget} tok"
    label = f"batch {spec.get('batch_size')}"
    if spec.get("buckets"):
        label += " · buckets " + ",".join(str(b) for b in spec["buckets"])
    return label


UNBACKED = "*"


def unbacked_percentiles(latency: Any) -> list[str]:
    """The percentiles of a Result's ``latency`` that too few samples back (``["p90", "p99"]``);
    empty when every one is backed or the Result does not say."""
    backed = latency.get("backed") if isinstance(latency, Mapping) else None
    if not isinstance(backed, Mapping):
        return []
    return [str(key) for key, enough in backed.items() if enough is False]


def backing_note(
    latency: Mapping[str, Any] | None, shown: tuple[str, ...] = ("p50", "p90", "p99")
) -> str | None:
    """``* too few samples: p90 needs 64, p99 needs 662 (this run has 10)`` for the ``shown``
    percentiles, or None when enough samples back them all."""
    missing = set(unbacked_percentiles(latency)) & set(shown)
    if not missing or latency is None:
        return None
    needs = ", ".join(
        f"{percentile_key(p)} needs {min_samples(p):,}"
        for p in PERCENTILES
        if percentile_key(p) in missing
    )
    return f"{UNBACKED} too few samples: {needs} (this run has {latency.get('count', 0):,})"


def workload_label(workload: Mapping[str, Any] | None, workers: int) -> str:
    """``fasta:proteome.faa · 2,100 sequences · 28 cut to 1,022 residues · 1 worker``."""
    if not workload:
        return "–"
    parts = [str(workload.get("source")), f"{workload.get('sequences', 0):,} sequences"]
    truncated = workload.get("truncated") or 0
    if truncated:
        parts.append(f"{truncated:,} cut to {workload.get('max_residues'):,} residues")
    parts.append(f"{workers} worker" + ("s" if workers != 1 else ""))
    return " · ".join(parts)


def batch_sizes_label(sizes: Mapping[str, int] | None) -> str:
    """``12 measured: 10 of 8 sequences, 2 of 2``."""
    if not sizes:
        return "–"
    total = sum(sizes.values())
    shown = ", ".join(f"{count:,} of {size}" for size, count in sizes.items())
    if len(sizes) == 1:
        return f"{total:,} of {next(iter(sizes))} sequences"
    return f"{total:,}: {shown} sequences"


def contention_label(section: Mapping[str, Any] | None) -> str:
    """``CONTENDED: other processes kept 1.80 of 2 cores busy (90% of the host) …``, ``quiet:
    other processes used 0.02 cores (1%)`` or ``not measured: …``."""
    if not isinstance(section, Mapping) or section.get("contended") is None:
        reason = section.get("reason") if isinstance(section, Mapping) else None
        return f"not measured: {reason}" if reason else "not measured"
    if section["contended"]:
        return f"CONTENDED: {section.get('why')}; latencies may be inflated"
    cores, share = section.get("cpu_others_cores"), section.get("cpu_others_share")
    if cores is None or share is None:
        return "quiet: no other process on the run's GPUs"
    return f"quiet: other processes used {cores:.2f} cores ({share:.0%} of the host)"


def weights_label(memory: Mapping[str, Any] | None) -> str:
    """``32.1 MB as run (torch.qint8 28.0, torch.float32 4.1)``, with the build-copy note."""
    weights = memory.get("weights") if isinstance(memory, Mapping) else None
    if not isinstance(weights, Mapping):
        return "–"
    parts = ", ".join(
        f"{dtype.removeprefix('torch.')} {mb:,.1f}"
        for dtype, mb in weights.get("by_dtype", {}).items()
    )
    label = f"{weights.get('total', 0):,.1f} MB as run ({parts})"
    note = memory.get("peak_note") if isinstance(memory, Mapping) else None
    return f"{label}; {note}" if note else label


def price_label(cost: Mapping[str, Any] | None) -> str:
    """``inf2.xlarge 0.758 USD/h on-demand, us-east-1, 2023-09`` (+ ``UNVERIFIED``)."""
    if not isinstance(cost, Mapping) or cost.get("usd_per_hour") is None:
        return "–"
    where = ", ".join(
        str(part)
        for part in (cost.get("price_kind"), cost.get("region"), cost.get("price_date"))
        if part
    )
    label = f"{cost.get('instance_type') or ''} {cost['usd_per_hour']:g} USD/h {where}".strip()
    return label if cost.get("verified", True) else f"{label} (UNVERIFIED: {cost.get('source')})"


def startup_label(timing: Mapping[str, Any] | None) -> str:
    """``process start 0.4 s · importing 3.1 s · … · warming 1.0 s`` (worker 0), or ``–``."""
    phases = timing.get("startup") if isinstance(timing, Mapping) else None
    if not isinstance(phases, list) or not phases:
        return "–"
    return " · ".join(
        f"{p.get('phase')} {p.get('seconds', 0):.1f} s" for p in phases if isinstance(p, Mapping)
    )
