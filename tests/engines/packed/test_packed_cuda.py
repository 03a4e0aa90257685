"""The packed path on an NVIDIA GPU: every backend in bf16 against transformers' bf16 eager model.

Skipped without CUDA. These are correctness checks only; speed is measured by
``benchmarks/gpu_throughput.py``.
"""

from __future__ import annotations

import pytest
import torch
from packed_helpers import build, drift, random_sequences, reference

from engines.catalog import get_model_info
from engines.packed.api import PackedFeeder, PackedRunner, packed_tensors
from engines.packed.pack import plan_packing
from engines.tokenizers import get_tokenizer

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU (CUDA)"),
]

LENGTHS = [1, 7, 33, 64, 90, 120, 5, 47, 100, 12, 77, 300, 510, 250]


@pytest.mark.parametrize(
    ("backend", "compile"),
    [
        ("varlen", "none"),
        ("varlen", "default"),
        ("jagged", "none"),
        ("jagged", "default"),
        ("flex", "default"),
        ("masked", "none"),
    ],
)
def test_bf16_cuda_matches_bf16_eager(backend: str, compile: str) -> None:
    info = get_model_info("esm2_t6_8M")
    model = build(info, torch.bfloat16).to("cuda")
    tokenizer = get_tokenizer(info.tokenizer)
    sequences = random_sequences(LENGTHS)
    ref = reference(model, tokenizer, sequences, None)
    plan = plan_packing(LENGTHS, 1024, tokenizer.special_tokens, pad_multiple=128)
    rows = packed_tensors(plan, sequences, tokenizer, "cuda")
    runner = PackedRunner(model, info, backend, compile=compile)
    hidden, pooled = [], []
    with torch.inference_mode():
        for row in rows:
            out = runner.hidden_states(row)
            hidden.append(out.cpu())
            pooled.append(runner.pool(out, row).cpu())
    cpu_rows = [row.to("cpu") for row in rows]
    assert drift(hidden, pooled, cpu_rows, ref).cosine_min >= 0.999


def test_cuda_feeder_matches_direct_copies() -> None:
    tokenizer = get_tokenizer("esm")
    sequences = random_sequences(LENGTHS)
    plan = plan_packing(LENGTHS, 512, 2, pad_multiple=64)
    direct = packed_tensors(plan, sequences, tokenizer, "cuda")
    fed = list(PackedFeeder(plan, sequences, tokenizer, "cuda", depth=2))
    assert len(fed) == len(direct)
    for a, b in zip(fed, direct, strict=True):
        assert a.input_ids.is_cuda and torch.equal(a.input_ids, b.input_ids)
        assert torch.equal(a.cu_seqlens, b.cu_seqlens)


def test_batch1_cuda_graphs() -> None:
    info = get_model_info("esm2_t6_8M")
    model = build(info, torch.bfloat16).to("cuda")
    tokenizer = get_tokenizer(info.tokenizer)
    sequences = random_sequences([510])
    row = packed_tensors(plan_packing([510], 512, 2), sequences, tokenizer, "cuda")[0]
    assert row.batch.uniform_len == 512
    eager = PackedRunner(model, info, "auto")
    graphs = PackedRunner(model, info, "auto", compile="reduce-overhead")
    with torch.inference_mode():
        expected = eager(row)
        for _ in range(3):
            got = graphs(row).clone()
    cosine = torch.nn.functional.cosine_similarity(got, expected).min()
    assert float(cosine) >= 0.999
