"""The per-run columns of the AWS Neuron performance tables (Model, Framework, Inst. Type,
Throughput, Latency P50/P99, Cost per 1M inferences, Application Type, software version, Run Mode,
Batch Size, Model details), with cost per 1M residues beside cost per 1M sequences, sorted by cost
as those tables are."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from profilers.coerce import integer, text
from profilers.sections import Cost

if TYPE_CHECKING:
    from profilers.report.rows import Row

# (Row field, heading); the headings are the AWS tables' own, a residue column added.
PERFORMANCE_COLUMNS = (
    ("model", "Model"),
    ("framework", "Framework"),
    ("instance_type", "Inst. Type"),
    ("sequences_per_s", "Throughput (/sec)"),
    ("p50_ms", "Latency P50 (ms)"),
    ("p99_ms", "Latency P99 (ms)"),
    ("usd_per_million", "Cost per 1M inferences"),
    ("usd_per_million_residues", "Cost per 1M residues"),
    ("application_type", "Application Type"),
    ("software", "Neuron / CUDA / torch version"),
    ("run_mode", "Run Mode"),
    ("batching", "Batch Size"),
    ("model_details", "Model details"),
)


def setting_of(
    env: Mapping[str, Any], spec: Mapping[str, Any], cost: Cost | None, device: str, details: str
) -> dict[str, Any]:
    """How a run was set up, in the words of the AWS tables, as ``Row`` fields. ``device``: the
    Inst. Type when no instance type is known; ``details``: Model details."""
    torch = text(env.get("torch"))
    return {
        "framework": f"PyTorch {torch}" if torch else "PyTorch",
        "instance_type": text(env.get("instance_type"))
        or (cost.instance_type if cost else None)
        or device,
        "software": software_version(env),
        "application_type": application_type(spec),
        "run_mode": run_mode(spec),
        "model_details": details,
        "usd_per_million_residues": cost.per_million_residues if cost else None,
    }


def software_version(env: Mapping[str, Any]) -> str:
    """The Neuron SDK's torch-neuronx version on Neuron, CUDA's on a GPU, else torch's."""
    if text(env.get("torch_neuronx")):
        return f"torch-neuronx {env['torch_neuronx']}"
    torch = text(env.get("torch")) or "?"
    if text(env.get("cuda_runtime")):
        return f"torch {torch}, CUDA {env['cuda_runtime']}"
    return f"torch {torch}"


def application_type(spec: Mapping[str, Any]) -> str:
    """AWS's split: batch 1 is "Real Time", larger batches "Batch"; training runs say so."""
    if spec.get("mode") == "training":
        return "Training"
    if not spec.get("token_budget") and integer(spec.get("batch_size")) == 1:
        return "Real Time"
    return "Batch"


def run_mode(spec: Mapping[str, Any]) -> str:
    devices = spec.get("devices")
    workers = (
        len(devices) if isinstance(devices, list) and devices else integer(spec.get("workers"))
    )
    if workers and workers > 1:
        return f"Data Parallel ({workers} workers)"
    return "Single worker"


def by_cost(rows: Sequence[Row]) -> list[Row]:
    """Ended-ok rows, cheapest per 1M sequences first; rows without a price last, fastest first."""
    ok = [r for r in rows if r.ok]
    priced = sorted((r for r in ok if r.usd_per_million is not None), key=_cost)
    unpriced = sorted(
        (r for r in ok if r.usd_per_million is None),
        key=lambda r: -(r.sequences_per_s or 0.0),
    )
    return priced + unpriced


def _cost(row: Row) -> float:
    return row.usd_per_million if row.usd_per_million is not None else float("inf")


def performance_table(rows: Sequence[Row]) -> tuple[list[str], list[list[Any]]]:
    """Headings and cells of the performance table, sorted by cost."""
    headers = [heading for _, heading in PERFORMANCE_COLUMNS]
    cells = [[getattr(r, name) for name, _ in PERFORMANCE_COLUMNS] for r in by_cost(rows)]
    return headers, cells
