"""The work a run's measured batches did: sequences, tokens and FLOPs, from the workers' plans."""

from __future__ import annotations

from dataclasses import dataclass

from engines.messages import PlannedBatch
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
