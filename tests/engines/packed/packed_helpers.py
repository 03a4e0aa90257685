"""Shared helpers for the packed-path tests: tiny ESM configs, references, comparisons."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

import torch
import torch.nn.functional as functional
from torch import nn

from engines.builders import build_model
from engines.catalog import ModelInfo
from engines.packed.api import PackedRunner, PackedTensors, packed_tensors
from engines.packed.pack import plan_packing
from engines.tokenizers import Tokenizer, get_tokenizer
from tests.tiny_models import ENCODER_SIZES, shrunk

RESIDUES = "ACDEFGHIKLMNPQRSTVWY"


def tiny_esm2() -> ModelInfo:
    """ESM-2 (rotary) with toy sizes: 2 layers, d = 64, 4 heads."""
    return shrunk("esm2_t6_8M", "tiny_esm2", **ENCODER_SIZES)


def tiny_esm1b() -> ModelInfo:
    """ESM-1b (learned absolute positions, LayerNorm before the encoder) with toy sizes."""
    return shrunk("esm1b_t33_650M", "tiny_esm1b", **ENCODER_SIZES)


def build(info: ModelInfo, dtype: torch.dtype = torch.float32, seed: int = 0) -> nn.Module:
    return build_model(info, attention="eager", dtype=dtype, seed=seed).module


def random_sequences(lengths: Sequence[int], seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(RESIDUES) for _ in range(n)) for n in lengths]


@dataclasses.dataclass
class Reference:
    """The transformers model's padded outputs and the inputs it ran on."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    hidden: torch.Tensor  # [n, width, d], fp32


def reference(
    model: nn.Module, tokenizer: Tokenizer, sequences: Sequence[str], input_ids: torch.Tensor | None
) -> Reference:
    ids, mask = tokenizer.batch(sequences)
    if input_ids is not None:
        ids = input_ids.cpu()
    device = next(model.parameters()).device
    with torch.inference_mode():
        hidden = model(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state
    return Reference(ids, mask, hidden.float().cpu())


def add_masks(
    sequences: Sequence[str], tokenizer: Tokenizer, share: float, seed: int
) -> torch.Tensor:
    """Padded input ids with about ``share`` of each sequence's residues set to ``<mask>``."""
    ids, _ = tokenizer.batch(sequences)
    rng = random.Random(seed)
    assert tokenizer.mask_id is not None
    for row, sequence in enumerate(sequences):
        for position in range(len(sequence)):
            if rng.random() < share:
                ids[row, 1 + position] = tokenizer.mask_id
    return ids


def mirror_ids(tensors: PackedTensors, padded_ids: torch.Tensor) -> PackedTensors:
    """``tensors`` with its input ids taken from the padded ``padded_ids`` (e.g. with masks)."""
    ids = tensors.input_ids.clone()
    batch = tensors.batch
    for j, (index, length) in enumerate(zip(batch.indices, batch.token_lengths, strict=True)):
        start = batch.cu_seqlens[j]
        ids[start : start + length] = padded_ids[index, :length]
    return dataclasses.replace(tensors, input_ids=ids)


def residue_pool(
    hidden: torch.Tensor, length: int, leading: int = 1, trailing: int = 1
) -> torch.Tensor:
    """Mean over residues of one sequence's ``[tokens, d]`` hidden states."""
    return hidden[leading : length - trailing].float().mean(dim=0)


@dataclasses.dataclass
class Drift:
    max_abs: float
    cosine_min: float
    sequences: int


def drift(
    per_row_hidden: Sequence[torch.Tensor],
    per_row_pooled: Sequence[torch.Tensor],
    rows: Sequence[PackedTensors],
    ref: Reference,
) -> Drift:
    """Worst per-token error and lowest pooled cosine of packed outputs against the reference."""
    worst = 0.0
    cosines: list[float] = []
    seen = 0
    for hidden, pooled, tensors in zip(per_row_hidden, per_row_pooled, rows, strict=True):
        batch = tensors.batch
        for j, (index, length) in enumerate(zip(batch.indices, batch.token_lengths, strict=True)):
            start = batch.cu_seqlens[j]
            ours = hidden[start : start + length].float()
            theirs = ref.hidden[index, :length]
            worst = max(worst, float((ours - theirs).abs().max()))
            expected = residue_pool(theirs, length)
            cosines.append(float(functional.cosine_similarity(pooled[j], expected, dim=0)))
            seen += 1
    return Drift(worst, min(cosines), seen)


def run_packed(
    runner: PackedRunner, rows: list[PackedTensors]
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    hidden: list[torch.Tensor] = []
    pooled: list[torch.Tensor] = []
    with torch.inference_mode():
        for tensors in rows:
            out = runner.hidden_states(tensors)
            hidden.append(out)
            pooled.append(runner.pool(out, tensors))
    return hidden, pooled


def setup(
    info: ModelInfo,
    lengths: list[int],
    budget: int,
    *,
    pad_multiple: int = 1,
    mask_share: float = 0.0,
    dtype: torch.dtype = torch.float32,
) -> tuple[nn.Module, list[PackedTensors], Reference]:
    model = build(info, dtype)
    tokenizer = get_tokenizer(info.tokenizer)
    sequences = random_sequences(lengths, seed=len(lengths))
    masked_ids = add_masks(sequences, tokenizer, mask_share, seed=1) if mask_share else None
    ref = reference(model, tokenizer, sequences, masked_ids)
    plan = plan_packing(lengths, budget, tokenizer.special_tokens, pad_multiple=pad_multiple)
    rows = packed_tensors(plan, sequences, tokenizer, "cpu")
    if masked_ids is not None:
        rows = [mirror_ids(row, masked_ids) for row in rows]
    return model, rows, ref
