"""The packed path inside a worker (``RunSpec.packing``): packed rows on the device, the packed
forward around the built model, and its outputs laid out as the padded model's for ``--quality``.

The rows themselves are planned with the rest of the workload (:func:`engines.inputs.plan_batches`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import nn

from engines.batching import PackedBatch
from engines.catalog import ModelInfo
from engines.inputs import PlannedWorkload
from engines.packed.api import PackedRunner, PackedTensors, packed_tensors
from engines.spec import RunSpec


def packed_backend(attention: str, device: torch.device) -> str:
    """The packed backend ``--attention`` names under ``--packing``. ``sdpa`` restricted to each
    sequence is one call on jagged tensors on a GPU; on a CPU, where jagged SDPA falls back to an
    unfused math kernel, one call per sequence."""
    if attention == "sdpa":
        return "jagged" if device.type == "cuda" else "segments"
    return attention


@dataclass
class PackedModel:
    runner: PackedRunner
    rows: list[PackedTensors]
    notes: tuple[str, ...] = ()

    @property
    def attention(self) -> str:
        return f"packed {self.runner.attention}"


def packed_model(
    model: nn.Module,
    info: ModelInfo,
    spec: RunSpec,
    planned: PlannedWorkload,
    device: torch.device,
) -> PackedModel:
    """The packed forward over ``model`` (its own weights) and every planned row on ``device``."""
    rows = [batch for batch in planned.batches if isinstance(batch, PackedBatch)]
    if len(rows) != len(planned.batches):
        raise ValueError("a packed run was planned with padded batches")
    sequences = [protein.sequence for protein in planned.proteins]
    runner = PackedRunner(model, info, packed_backend(spec.attention, device))
    notes: tuple[str, ...] = ()
    if runner.attention == "flex" and spec.compile == "none":
        warnings.filterwarnings("ignore", message="flex_attention called without torch.compile")
        notes = (
            "--attention flex without --compile runs FlexAttention unfused: it materialises "
            "every row's full score matrix; add --compile default for the fused kernel",
        )
    tensors = packed_tensors(rows, sequences, planned.tokenizer, device)
    return PackedModel(runner, tensors, notes)


def as_padded(hidden: torch.Tensor, row: PackedTensors, padded_len: int) -> torch.Tensor:
    """A packed row's hidden states ``[T, d]`` as ``[sequences, padded_len, d]``: each sequence's
    tokens from position 0, zeros after (where the padded model has padding)."""
    batch = row.batch
    out = hidden.new_zeros(batch.sequences, padded_len, hidden.shape[-1])
    for index, (start, length) in enumerate(
        zip(batch.cu_seqlens, batch.token_lengths, strict=False)
    ):
        out[index, :length] = hidden[start : start + length]
    return out
