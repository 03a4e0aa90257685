"""The per-run columns of the AWS Neuron performance tables (Model, Framework, Inst. Type,
Throughput, Latency P50/P99, Cost per 1M inferences, Application Type, software version, Run Mode,
Batch Size, Model details), with cost per 1M residues beside cost per 1M sequences, sorted by cost
as those tables are, or by another figure (``SORT_KEYS``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engines.errors import InvalidInputError
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


@dataclass(frozen=True)
class SortKey:
    """One order of the table: by the Row field ``field``, lowest first or highest first.
    ``heading``: the column that shows it, added at the end when the AWS columns lack it."""

    field: str
    lowest_first: bool
    order: str  # how the report says it, e.g. "cheapest per 1M sequences first"
    missing: str  # what a row lacks that goes last, e.g. "a price"
    heading: str


# --sort choices; cost (per 1M sequences, as AWS sorts) is the default.
SORT_KEYS = {
    "cost": SortKey(
        "usd_per_million",
        True,
        "cheapest per 1M sequences first",
        "a price",
        "Cost per 1M inferences",
    ),
    "cost-residues": SortKey(
        "usd_per_million_residues",
        True,
        "cheapest per 1M residues first",
        "a price",
        "Cost per 1M residues",
    ),
    "throughput": SortKey(
        "sequences_per_s", False, "most sequences per second first", "a rate", "Throughput (/sec)"
    ),
    "residues": SortKey(
        "residues_per_s", False, "most residues per second first", "a rate", "Residues (/sec)"
    ),
    "p50": SortKey("p50_ms", True, "lowest median latency first", "a p50", "Latency P50 (ms)"),
    "p99": SortKey("p99_ms", True, "lowest p99 latency first", "a p99", "Latency P99 (ms)"),
    "memory": SortKey(
        "peak_memory_mb", True, "least peak memory first", "a memory peak", "Peak memory (MB)"
    ),
    "energy": SortKey(
        "joules_per_sequence", True, "least energy per sequence first", "an energy", "J/seq"
    ),
    "mfu": SortKey("useful_mfu_pct", False, "highest useful MFU first", "an MFU", "Useful MFU (%)"),
    "batch": SortKey("batch_size", True, "smallest batch first", "a fixed batch", "Batch Size"),
    "model": SortKey("model", True, "by model name", "a model", "Model"),
}
DEFAULT_SORT = "cost"


def sort_key(name: str) -> SortKey:
    """The ``--sort`` choice ``name``; an unknown one is an input error naming the choices."""
    if name not in SORT_KEYS:
        raise InvalidInputError(f"--sort '{name}' is not one of {', '.join(SORT_KEYS)}")
    return SORT_KEYS[name]


def sorted_rows(rows: Sequence[Row], key: SortKey) -> list[Row]:
    """Ended-ok rows in ``key``'s order; rows without that figure last; ties fastest first."""
    ok = [r for r in rows if r.ok]
    known = [r for r in ok if getattr(r, key.field) is not None]
    unknown = [r for r in ok if getattr(r, key.field) is None]
    known.sort(key=_fastest)
    known.sort(key=lambda r: getattr(r, key.field), reverse=not key.lowest_first)
    return known + sorted(unknown, key=_fastest)


def _fastest(row: Row) -> float:
    return -(row.sequences_per_s or 0.0)


def performance_columns(key: SortKey) -> list[tuple[str, str]]:
    """The AWS columns, and the sorted figure's own column at the end when they lack it."""
    shown = list(PERFORMANCE_COLUMNS)
    if all(name != key.field for name, _ in shown):
        shown.append((key.field, key.heading))
    return shown


def performance_table(
    rows: Sequence[Row], key: SortKey = SORT_KEYS[DEFAULT_SORT]
) -> tuple[list[str], list[list[Any]]]:
    """Headings and cells of the performance table, in ``key``'s order (cost by default)."""
    columns = performance_columns(key)
    headers = [heading for _, heading in columns]
    cells = [[getattr(r, name) for name, _ in columns] for r in sorted_rows(rows, key)]
    return headers, cells
