"""A training run's data: the workload split into training and held-out sequences, labels, and
the batches of each as tensors on the device (tokenised once, before anything is timed)."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from engines.batching import Batch, fixed_batches
from engines.catalog import ModelInfo
from engines.inputs import PlannedWorkload, load_proteins, plan_batches, summarize_workload
from engines.sequences import Protein
from engines.spec import RunSpec
from engines.tokenizers import Tokenizer, get_tokenizer
from engines.training.labels import Labels, load_labels
from engines.training.masking import IGNORE
from engines.workloads import truncate


@dataclass(frozen=True)
class LabelledBatch:
    """One padded batch and its targets: a class per row (``classify``), a class per token with
    ``IGNORE`` on special and padding tokens (``token-classify``), or None (masked-LM: the
    targets are drawn when the batch is masked)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    targets: torch.Tensor | None
    batch: Batch


@dataclass(frozen=True)
class TrainingPlan:
    """``workload`` holds the training split (proteins first, then the held-out ones, so batch
    indices of either split index ``workload.proteins``)."""

    workload: PlannedWorkload
    train: list[LabelledBatch]
    held_out: list[LabelledBatch]
    labels: Labels | None
    held_out_sequences: int

    @property
    def classes(self) -> int:
        return self.labels.num_classes if self.labels else self.workload.tokenizer.vocab_size


def _split(count: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Protein indices for training and held out: a seeded shuffle, at least one to train on."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    held = min(count - 1, round(count * fraction))
    return sorted(order[held:]), sorted(order[:held])


def _targets(
    batch: Batch, labels: Labels, proteins: Sequence[Protein], tokenizer: Tokenizer, task: str
) -> torch.Tensor:
    indices = list(batch.indices) + [batch.indices[-1]] * batch.dummy_rows
    if task == "classify":
        return torch.tensor([labels.per_protein[i][0] for i in indices], dtype=torch.int64)
    offset = 0 if tokenizer.bos_id is None else 1
    targets = torch.full((batch.rows, batch.padded_len), IGNORE, dtype=torch.int64)
    for row, index in enumerate(indices):
        length = proteins[index].length  # a truncated sequence's labels are cut with it
        targets[row, offset : offset + length] = torch.tensor(labels.per_protein[index][:length])
    return targets


def _tensors(
    batches: Sequence[Batch],
    proteins: Sequence[Protein],
    tokenizer: Tokenizer,
    labels: Labels | None,
    task: str,
    device: torch.device,
) -> list[LabelledBatch]:
    out = []
    for batch in batches:
        sequences = [proteins[i].sequence for i in batch.indices]
        sequences += [sequences[-1]] * batch.dummy_rows
        ids, mask = tokenizer.batch(sequences, pad_to=batch.padded_len)
        targets = None if labels is None else _targets(batch, labels, proteins, tokenizer, task)
        out.append(
            LabelledBatch(
                ids.to(device),
                mask.to(device),
                None if targets is None else targets.to(device),
                batch,
            )
        )
    return out


def _reorder(labels: Labels | None, order: Sequence[int]) -> Labels | None:
    if labels is None:
        return None
    return dataclasses.replace(labels, per_protein=tuple(labels.per_protein[i] for i in order))


def plan_training(spec: RunSpec, info: ModelInfo, device: torch.device) -> TrainingPlan:
    """Read and label the workload, hold out ``eval_fraction`` of it (when accuracy can be
    measured), and batch both splits as ``spec`` says (held-out batches: fixed, ``batch_size``)."""
    tokenizer = get_tokenizer(info.tokenizer)
    raw, source = load_proteins(spec, tokenizer)
    labels = load_labels(raw, spec.task, spec.labels, spec.fasta, spec.seed)
    proteins, truncation = truncate(raw, info.max_residues)
    measurable = labels is None or labels.measured
    train_idx, held_idx = _split(
        len(proteins), spec.eval_fraction if measurable else 0.0, spec.seed
    )
    order = train_idx + held_idx
    ordered = [proteins[i] for i in order]
    labels = _reorder(labels, order)
    special = tokenizer.special_tokens
    train_lengths = [ordered[i].length for i in range(len(train_idx))]
    train_batches = plan_batches(spec, train_lengths, special)
    assert all(isinstance(b, Batch) for b in train_batches)  # training refuses --packing
    held_batches = (
        [
            dataclasses.replace(b, indices=tuple(i + len(train_idx) for i in b.indices))
            for b in fixed_batches(
                [p.length for p in ordered[len(train_idx) :]], spec.batch_size, special
            )
        ]
        if held_idx
        else []
    )
    summary = summarize_workload(
        f"{source} (training split: {len(train_idx)} of {len(proteins)} sequences)",
        len(train_idx),
        truncation,
        info,
        train_batches,
    )
    workload = PlannedWorkload(tuple(ordered), tuple(train_batches), tokenizer, summary)
    train = _tensors(train_batches, ordered, tokenizer, labels, spec.task, device)  # type: ignore[arg-type]
    held = _tensors(held_batches, ordered, tokenizer, labels, spec.task, device)
    return TrainingPlan(workload, train, held, labels, len(held_idx))
