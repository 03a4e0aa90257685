"""The packed ESM and BERT forwards against transformers' padded models (eager, same weights)."""

from __future__ import annotations

import dataclasses
import os

import pytest
import torch
from packed_helpers import (
    drift,
    mirror_ids,
    random_sequences,
    run_packed,
    setup,
    tiny_esm1b,
    tiny_esm2,
)

from engines.catalog import get_model_info
from engines.packed.api import PackedRunner, packed_tensors
from engines.packed.attention import document_block_mask
from engines.packed.pack import plan_packing
from engines.tokenizers import get_tokenizer
from tests.tiny_models import shrunk, tiny_bert

# Lengths in residues: a single residue, short, medium and long; a repeated length.
LENGTHS = [1, 7, 33, 33, 64, 90, 120, 5, 47, 100, 12, 77]
CPU_BACKENDS = ["masked", "jagged", "flex", "segments"]
FP32_MAX_ABS = 1e-4
FP32_COSINE = 0.9999


TINY = {"esm2": tiny_esm2, "protbert": tiny_bert}


@pytest.mark.parametrize("family", TINY)
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_tiny_models_match_transformers(family: str, backend: str) -> None:
    info = TINY[family]()
    model, rows, ref = setup(info, LENGTHS, budget=256, pad_multiple=16)
    assert len(rows) > 1 and any(r.batch.sequences > 1 for r in rows)
    assert any(r.batch.padding for r in rows)
    result = drift(*run_packed(PackedRunner(model, info, backend), rows), rows, ref)
    assert result.sequences == len(LENGTHS)
    assert result.max_abs < FP32_MAX_ABS
    assert result.cosine_min >= FP32_COSINE


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_esm2_t6_8m_matches_transformers(backend: str) -> None:
    info = get_model_info("esm2_t6_8M")
    lengths = [*LENGTHS, 250, 300]
    model, rows, ref = setup(info, lengths, budget=512, pad_multiple=8)
    result = drift(*run_packed(PackedRunner(model, info, backend), rows), rows, ref)
    assert result.max_abs < FP32_MAX_ABS
    assert result.cosine_min >= FP32_COSINE


@pytest.mark.parametrize("backend", ["masked", "jagged"])
def test_token_dropout_scaling_per_sequence(backend: str) -> None:
    """With <mask> tokens the 0.88/(1 - ratio) scale differs per sequence of a row."""
    info = tiny_esm2()
    model, rows, ref = setup(info, LENGTHS, budget=256, mask_share=0.2)
    masked = [int((r.input_ids == 32).sum()) for r in rows]
    assert sum(masked) > 0
    result = drift(*run_packed(PackedRunner(model, info, backend), rows), rows, ref)
    assert result.max_abs < FP32_MAX_ABS
    assert result.cosine_min >= FP32_COSINE


@pytest.mark.parametrize("backend", ["masked", "jagged", "flex"])
def test_esm1b_absolute_positions(backend: str) -> None:
    info = tiny_esm1b()
    model, rows, ref = setup(info, LENGTHS, budget=200, pad_multiple=4, mask_share=0.1)
    result = drift(*run_packed(PackedRunner(model, info, backend), rows), rows, ref)
    assert result.max_abs < FP32_MAX_ABS
    assert result.cosine_min >= FP32_COSINE


def test_protbert_layers_match_transformers_at_real_width() -> None:
    """ProtBERT's real width (1024, 16 heads) with two of its 30 layers, positions restarting."""
    info = shrunk("prot_bert", "prot_bert_2_layers", num_hidden_layers=2)
    model, rows, ref = setup(info, [30, 200, 64, 150], budget=512)
    result = drift(*run_packed(PackedRunner(model, info, "segments"), rows), rows, ref)
    assert result.max_abs < 1e-3
    assert result.cosine_min >= FP32_COSINE


def test_uniform_rows_take_the_dense_path() -> None:
    info = tiny_esm2()
    model, rows, ref = setup(info, [40] * 6, budget=126)
    assert all(r.batch.uniform_len == 42 for r in rows) and len(rows) == 2
    result = drift(*run_packed(PackedRunner(model, info, "jagged"), rows), rows, ref)
    assert result.max_abs < FP32_MAX_ABS


@pytest.mark.parametrize("family", TINY)
def test_unfused_qkv_gives_the_same_outputs(family: str) -> None:
    info = TINY[family]()
    model, rows, _ = setup(info, LENGTHS, budget=256)
    fused, _ = run_packed(PackedRunner(model, info, "masked", fuse_qkv=True), rows)
    plain, _ = run_packed(PackedRunner(model, info, "masked", fuse_qkv=False), rows)
    for a, b in zip(fused, plain, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert PackedRunner(model, info, "masked", fuse_qkv=False).extra_memory_bytes == 0
    fused_bytes = PackedRunner(model, info, "masked", fuse_qkv=True).extra_memory_bytes
    assert fused_bytes == 2 * 3 * 64 * 65 * 4


@pytest.mark.parametrize("family", TINY)
@pytest.mark.parametrize("backend", ["masked", "jagged"])
def test_bf16_against_bf16_eager(family: str, backend: str) -> None:
    """bf16 packed against transformers' bf16 eager model: the issue's quality bar (0.999)."""
    info = TINY[family]()
    model, rows, ref = setup(info, LENGTHS, budget=256, dtype=torch.bfloat16)
    result = drift(*run_packed(PackedRunner(model, info, backend), rows), rows, ref)
    assert result.cosine_min >= 0.999


@pytest.mark.parametrize(
    ("segments", "block"),
    [((5, 17, 30, 8), 16), ((128, 128, 3), 128), ((300,), 128), ((16, 16, 16, 16), 16), ((1,), 16)],
)
def test_document_block_mask_matches_create_block_mask(
    segments: tuple[int, ...], block: int
) -> None:
    from torch.nn.attention.flex_attention import create_block_mask

    documents = torch.repeat_interleave(
        torch.arange(len(segments), dtype=torch.int32), torch.tensor(segments)
    )
    total = int(documents.numel())

    def same(b: object, h: object, q: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
        return documents[q] == documents[kv]

    ours = document_block_mask(documents, block)
    theirs = create_block_mask(same, None, None, total, total, device="cpu", BLOCK_SIZE=block)
    assert torch.equal(ours.to_dense(), theirs.to_dense())
    assert torch.equal(ours.kv_num_blocks, theirs.kv_num_blocks)
    assert ours.full_kv_num_blocks is not None and theirs.full_kv_num_blocks is not None
    assert torch.equal(ours.full_kv_num_blocks, theirs.full_kv_num_blocks)


@pytest.mark.skipif(
    os.environ.get("PLMPROF_COMPILE_TESTS") != "1",
    reason="torch.compile on this 2-core CPU takes minutes cold; set PLMPROF_COMPILE_TESTS=1",
)
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_compiled_matches_transformers(backend: str) -> None:
    """torch.compile (inductor, CPU) over the packed forward, rows of changing shape."""
    info = tiny_esm2()
    model, rows, ref = setup(info, LENGTHS, budget=256, pad_multiple=16)
    runner = PackedRunner(model, info, backend, compile="default")
    result = drift(*run_packed(runner, rows), rows, ref)
    assert result.max_abs < FP32_MAX_ABS
    assert result.cosine_min >= FP32_COSINE


def test_mirror_ids_helper_roundtrip() -> None:
    info = tiny_esm2()
    tokenizer = get_tokenizer(info.tokenizer)
    sequences = random_sequences([3, 4])
    ids, _ = tokenizer.batch(sequences)
    row = packed_tensors(plan_packing([3, 4], 64, 2), sequences, tokenizer, "cpu")[0]
    assert torch.equal(mirror_ids(row, ids).input_ids, row.input_ids)
    assert dataclasses.replace(row).batch == row.batch
