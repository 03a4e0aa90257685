"""The packed BERT forward (ProtBERT) against transformers' own padded BertModel, same weights."""

from __future__ import annotations

import pytest
import torch
from packed_helpers import drift, run_packed, setup

from engines.packed.api import PackedRunner
from tests.tiny_models import shrunk, tiny_bert

LENGTHS = [1, 9, 40, 40, 75, 120, 6, 58, 101, 13]
FP32_MAX_ABS = 1e-4
FP32_COSINE = 0.9999


@pytest.mark.parametrize("backend", ["masked", "jagged", "flex", "segments"])
def test_tiny_protbert_matches_transformers(backend: str) -> None:
    info = tiny_bert()
    model, rows, ref = setup(info, LENGTHS, budget=256, pad_multiple=16)
    assert len(rows) > 1 and any(r.batch.sequences > 1 for r in rows)
    assert any(r.batch.padding for r in rows)
    result = drift(*run_packed(PackedRunner(model, info, backend), rows), rows, ref)
    assert result.sequences == len(LENGTHS)
    assert result.max_abs < FP32_MAX_ABS
    assert result.cosine_min >= FP32_COSINE


def test_protbert_layers_match_transformers_at_real_width() -> None:
    """ProtBERT's real width (1024, 16 heads) with two of its 30 layers, positions restarting."""
    info = shrunk("prot_bert", "prot_bert_2_layers", num_hidden_layers=2)
    model, rows, ref = setup(info, [30, 200, 64, 150], budget=512)
    result = drift(*run_packed(PackedRunner(model, info, "segments"), rows), rows, ref)
    assert result.max_abs < 1e-3
    assert result.cosine_min >= FP32_COSINE


def test_bf16_protbert_stays_within_bf16_tolerance() -> None:
    info = tiny_bert()
    model, rows, ref = setup(info, LENGTHS, budget=256, dtype=torch.bfloat16)
    result = drift(*run_packed(PackedRunner(model, info, "jagged"), rows), rows, ref)
    assert result.cosine_min >= 0.999


def test_unfused_qkv_gives_the_same_outputs() -> None:
    info = tiny_bert()
    model, rows, _ = setup(info, LENGTHS, budget=256)
    fused, _ = run_packed(PackedRunner(model, info, "masked", fuse_qkv=True), rows)
    plain, _ = run_packed(PackedRunner(model, info, "masked", fuse_qkv=False), rows)
    for a, b in zip(fused, plain, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
