"""From a RunSpec to tokenised, batched tensors: workload source, truncation, batching."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engines.batching import Batch, bucket_batches, fixed_batches, token_budget_batches
from engines.catalog import ModelInfo
from engines.fasta import read_fasta
from engines.messages import PlannedBatch, WorkloadSummary
from engines.packed.pack import plan_packing
from engines.sequences import Protein
from engines.spec import RunSpec
from engines.tokenizers import Tokenizer, get_tokenizer
from engines.workloads import Truncation, from_distribution, synthetic, truncate

if TYPE_CHECKING:  # planning a workload needs no torch; only its tensors do
    import torch

_SYNTHETIC_BATCHES = 4


@dataclass(frozen=True)
class PlannedWorkload:
    proteins: tuple[Protein, ...]
    batches: tuple[PlannedBatch, ...]
    tokenizer: Tokenizer
    summary: WorkloadSummary


@dataclass(frozen=True)
class TensorBatch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    batch: Batch


def load_proteins(spec: RunSpec, tokenizer: Tokenizer) -> tuple[list[Protein], str]:
    """The workload's sequences and a short description of where they came from."""
    if spec.fasta is not None:
        return read_fasta(spec.fasta), f"fasta:{spec.fasta}"
    if spec.lengths is not None:
        return from_distribution(spec.lengths, spec.num_sequences, spec.seed), spec.lengths
    assert spec.seq_len is not None
    if spec.num_sequences:
        count = spec.num_sequences
    elif spec.token_budget:
        per_batch = max(1, spec.token_budget // tokenizer.token_count(spec.seq_len))
        count = per_batch * _SYNTHETIC_BATCHES
    else:
        count = spec.batch_size * _SYNTHETIC_BATCHES
    return synthetic(spec.seq_len, count, spec.seed), f"synthetic:{spec.seq_len}"


def packing_budget(spec: RunSpec, lengths: list[int], special: int) -> int:
    """Tokens per packed row: ``--token-budget``, else what a padded batch of ``--batch-size``
    sequences of the longest length holds (the same memory ceiling, without the padding)."""
    return spec.token_budget or spec.batch_size * (max(lengths, default=0) + special)


def plan_batches(spec: RunSpec, lengths: list[int], special: int) -> Sequence[PlannedBatch]:
    if spec.packing:
        return plan_packing(lengths, packing_budget(spec, lengths, special), special)
    if spec.buckets:
        return bucket_batches(lengths, spec.batch_size, spec.buckets, special)
    if spec.token_budget:
        return token_budget_batches(lengths, spec.token_budget, special)
    return fixed_batches(lengths, spec.batch_size, special)


def plan_workload(spec: RunSpec, info: ModelInfo) -> PlannedWorkload:
    tokenizer = get_tokenizer(info.tokenizer)
    raw, source = load_proteins(spec, tokenizer)
    proteins, truncation = truncate(raw, info.max_residues)
    lengths = [len(p.sequence) for p in proteins]
    batches = plan_batches(spec, lengths, tokenizer.special_tokens)
    summary = summarize_workload(source, len(proteins), truncation, info, batches)
    return PlannedWorkload(tuple(proteins), tuple(batches), tokenizer, summary)


def summarize_workload(
    source: str,
    sequences: int,
    truncation: Truncation,
    info: ModelInfo,
    batches: Sequence[PlannedBatch],
) -> WorkloadSummary:
    return WorkloadSummary(
        source=source,
        sequences=sequences,
        truncated=truncation.count,
        max_residues=info.max_residues,
        longest=truncation.longest,
        batches=len(batches),
        residues=sum(b.residues for b in batches),
        real_tokens=sum(b.real_tokens for b in batches),
        padded_tokens=sum(b.padded_tokens for b in batches),
    )


def padded_view(batch: PlannedBatch) -> Batch:
    """The padded batch holding ``batch``'s sequences: a packed row's sequences padded to its
    longest (what the padded model computes for them); a padded batch is itself."""
    if isinstance(batch, Batch):
        return batch
    return Batch(
        indices=batch.indices,
        padded_len=max(batch.token_lengths),
        rows=batch.sequences,
        residues=batch.residues,
        real_tokens=batch.real_tokens,
    )


def to_tensors(
    planned: PlannedWorkload, device: torch.device, limit: int | None = None
) -> list[TensorBatch]:
    """Tokenise every batch (the first ``limit``) once, padded, on ``device``, so the timed loop
    measures only the model.

    Dummy rows that fill a bucket to its fixed batch size repeat the batch's last sequence: the
    device computes them (they count as padded tokens) and they carry no residues.
    """
    return [tokenize(planned, batch, device) for batch in planned.batches[:limit]]


def tokenize(
    planned: PlannedWorkload, planned_batch: PlannedBatch, device: torch.device
) -> TensorBatch:
    """One batch's sequences from their text to padded token ids on ``device``."""
    batch = padded_view(planned_batch)
    sequences = [planned.proteins[i].sequence for i in batch.indices]
    sequences += [sequences[-1]] * (batch.rows - len(sequences))
    ids, mask = planned.tokenizer.batch(sequences, pad_to=batch.padded_len)
    return TensorBatch(ids.to(device), mask.to(device), batch)
