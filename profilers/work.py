"""The work a run's measured batches did: sequences, tokens and FLOPs, from the workers' plans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engines.messages import PlannedBatch
from engines.spec import RunSpec
from engines.structure import ModelShape
from profilers.collector import RunCollector
from profilers.efficiency import flops_per_sequence


@dataclass(frozen=True)
class Work:
    sequences: int
    residues: int
    real_tokens: int
    padded_tokens: int
    useful_flops: int  # real tokens only
    padded_flops: int  # every token the device computed

    @property
    def padding_fraction(self) -> float | None:
        return 1 - self.real_tokens / self.padded_tokens if self.padded_tokens else None


def sequence_flops(shape: ModelShape, tokens: int) -> int:
    """Forward FLOPs of one sequence of ``tokens`` tokens through a model of ``shape``."""
    per_token = flops_per_sequence(shape.token_linear_params, shape.attn_dims, tokens)
    return per_token + 2 * shape.sequence_linear_params


def computed_flops(shape: ModelShape, batch: PlannedBatch) -> int:
    """FLOPs the device computes for ``batch``: every padded row, or each packed segment alone."""
    return sum(count * sequence_flops(shape, tokens) for count, tokens in batch.computed_segments)


def measured_work(collector: RunCollector) -> Work:
    sequences = residues = real = padded = useful_flops = padded_flops = 0
    for (worker, number), times in collector.batch_counts.items():
        loaded = collector.workers[worker].loaded
        assert loaded is not None
        batch = loaded.batches[number]
        lengths = [loaded.lengths[i] + loaded.special_tokens for i in batch.indices]
        sequences += times * batch.sequences
        residues += times * batch.residues
        real += times * batch.real_tokens
        padded += times * batch.padded_tokens
        useful_flops += times * sum(sequence_flops(loaded.shape, n) for n in lengths)
        padded_flops += times * computed_flops(loaded.shape, batch)
    return Work(sequences, residues, real, padded, useful_flops, padded_flops)


def plan_order(spec: RunSpec) -> str:
    """The order a run's batching puts the sequences in (what a partial run measured first)."""
    if spec.packing:
        return "longest first (packed rows, first-fit decreasing)"
    if spec.buckets or spec.device.startswith("neuron"):
        return "smallest bucket first, file order within a bucket"
    if spec.token_budget:
        return "shortest first (length-sorted under the token budget)"
    return "file order"


def coverage(spec: RunSpec, collector: RunCollector) -> dict[str, Any] | None:
    """Which of the workload's sequences the measured batches covered, and how they were chosen.

    ``passes`` counts complete passes: the fewest times any batch of the plan was measured (over
    all workers together). None before any worker has sent its plan."""
    loaded = next((w.loaded for w in collector.workers.values() if w.loaded), None)
    if loaded is None:
        return None
    plan = loaded.batches
    times = [0] * len(plan)
    for (_, number), count in collector.batch_counts.items():
        times[number] += count
    measured = [n for n, count in enumerate(times) if count]
    indices = {i for n in measured for i in plan[n].indices}
    total = loaded.workload.sequences
    order = plan_order(spec)
    if len(measured) == len(plan):
        chosen = f"every batch of the plan ({order})"
    elif measured == list(range(len(measured))):
        chosen = f"the first {len(measured)} of {len(plan)} batches in plan order ({order})"
    else:
        chosen = f"{len(measured)} of {len(plan)} batches ({order})"
    return {
        "sequences_total": total,
        "sequences_measured": len(indices),
        "fraction": len(indices) / total if total else None,
        "residues_total": loaded.workload.residues,
        "residues_measured": sum(loaded.lengths[i] for i in indices),
        "batches_total": len(plan),
        "batches_measured": len(measured),
        "passes": min(times, default=0),
        "order": order,
        "chosen": chosen,
        "rule": f"{spec.passes} full pass(es)" if spec.passes else "duration and minimum batches",
    }


def measured_batch_sizes(collector: RunCollector) -> dict[str, int]:
    """How many measured batches held each number of sequences: ``{"8": 262, "4": 1}``."""
    sizes: dict[int, int] = {}
    for (worker, number), times in collector.batch_counts.items():
        loaded = collector.workers[worker].loaded
        assert loaded is not None
        size = loaded.batches[number].sequences
        sizes[size] = sizes.get(size, 0) + times
    return {str(size): sizes[size] for size in sorted(sizes, reverse=True)}


def coverage_label(section: dict[str, Any] | None) -> str:
    """``2,100 of 2,100 sequences (100%), every batch of the plan (file order)``."""
    if not section:
        return "–"
    fraction = section.get("fraction")
    share = "" if fraction is None else f" ({fraction:.1%})".replace(".0%", "%")
    return (
        f"{section['sequences_measured']:,} of {section['sequences_total']:,} sequences{share}, "
        f"{section['chosen']}"
    )
