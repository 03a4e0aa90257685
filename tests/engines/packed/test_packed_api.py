"""The packed path's entry points: support checks, backend choice, tensors, runner and feeder."""

from __future__ import annotations

import dataclasses
import threading
import warnings

import pytest
import torch
from packed_helpers import build, random_sequences, reference, residue_pool, tiny_esm1b, tiny_esm2
from torch import nn

from engines.catalog import MODELS
from engines.errors import InvalidInputError, UnsupportedError
from engines.packed.api import (
    PackedFeeder,
    PackedRunner,
    pack_tensors,
    packed_support,
    packed_tensors,
    resolve_attention,
)
from engines.packed.pack import PackedBatch, plan_packing
from engines.tokenizers import get_tokenizer


def test_packed_support_by_family() -> None:
    assert packed_support(MODELS["esm2_t33_650M"]) is None
    assert packed_support(MODELS["esm1b_t33_650M"]) is None
    assert packed_support(MODELS["prot_bert"]) is None
    assert packed_support(MODELS["prot_bert_bfd"]) is None
    t5 = packed_support(MODELS["prot_t5_xl_enc"])
    assert t5 is not None and "score_mod" in t5
    assert packed_support(MODELS["protst_esm1b"]) is not None


def test_runner_refuses_unsupported_models() -> None:
    with pytest.raises(UnsupportedError, match="T5 encoders"):
        PackedRunner(nn.Linear(2, 2), MODELS["prot_t5_xl_enc"])
    with pytest.raises(UnsupportedError, match="not a transformers BERT model"):
        PackedRunner(nn.Linear(2, 2), MODELS["prot_bert"])
    with pytest.raises(UnsupportedError, match="not a transformers ESM model"):
        PackedRunner(nn.Linear(2, 2), tiny_esm2())
    with pytest.raises(InvalidInputError, match="compile mode"):
        PackedRunner(build(tiny_esm2()), tiny_esm2(), compile="fast")


def test_resolve_attention_on_cpu() -> None:
    cpu = torch.device("cpu")
    assert resolve_attention("auto", cpu, torch.float32) == "jagged"
    assert resolve_attention("flex", cpu, torch.bfloat16) == "flex"
    with pytest.raises(UnsupportedError, match="CUDA"):
        resolve_attention("varlen", cpu, torch.bfloat16)
    with pytest.raises(InvalidInputError, match="not one of"):
        resolve_attention("flash", cpu, torch.float32)


def test_pack_tensors_layout_and_validation() -> None:
    tokenizer = get_tokenizer("esm")
    sequences = ["ACD", "KL"]
    batch = plan_packing([3, 2], budget=16, special=2, pad_multiple=4)[0]
    row = pack_tensors(batch, sequences, tokenizer)
    padding = [tokenizer.pad_id] * 3
    expected = [*tokenizer.encode("ACD"), *tokenizer.encode("KL"), *padding]
    assert row.input_ids.tolist() == expected
    assert row.cu_seqlens.tolist() == [0, 5, 9, 12]
    assert row.position_ids.tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 0, 0, 0]
    wrong = dataclasses.replace(batch, token_lengths=(6, 4))
    with pytest.raises(ValueError, match="plan expects"):
        pack_tensors(wrong, sequences, tokenizer)


def test_runner_embeddings_equal_transformers_pooled() -> None:
    info = tiny_esm2()
    model = build(info)
    tokenizer = get_tokenizer(info.tokenizer)
    lengths = [30, 4, 61, 18, 9]
    sequences = random_sequences(lengths, seed=3)
    ref = reference(model, tokenizer, sequences, None)
    runner = PackedRunner(model, info)  # auto -> jagged on CPU
    assert runner.attention == "jagged"
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for row in packed_tensors(plan_packing(lengths, 64, 2), sequences, tokenizer, "cpu"):
            embeddings = runner(row)
            assert embeddings.dtype == torch.float32
            assert embeddings.shape == (row.batch.sequences, 64)
            for j, index in enumerate(row.batch.indices):
                expected = residue_pool(ref.hidden[index], lengths[index] + 2)
                torch.testing.assert_close(embeddings[j], expected, rtol=1e-4, atol=1e-5)


def test_absolute_positions_limit() -> None:
    info = tiny_esm1b()
    runner = PackedRunner(build(info), info, "masked")
    assert runner.max_tokens == 1024
    batch = PackedBatch(indices=(0,), token_lengths=(1030,), special=2)
    row = pack_tensors(batch, ["A" * 1028], get_tokenizer("esm"))
    with pytest.raises(InvalidInputError, match="truncate"):
        runner.hidden_states(row)


def test_feeder_yields_rows_in_order_on_cpu() -> None:
    tokenizer = get_tokenizer("esm")
    lengths = [5, 40, 12, 33, 7, 21, 50, 3]
    sequences = random_sequences(lengths)
    batches = plan_packing(lengths, 64, 2, pad_multiple=8)
    expected = packed_tensors(batches, sequences, tokenizer, "cpu")
    with PackedFeeder(batches, sequences, tokenizer, "cpu", depth=2) as feeder:
        got = list(feeder)
    assert [g.batch for g in got] == [e.batch for e in expected]
    for g, e in zip(got, expected, strict=True):
        assert torch.equal(g.input_ids, e.input_ids)
        assert torch.equal(g.pool_index, e.pool_index)


def test_feeder_passes_errors_on_and_stops_early() -> None:
    tokenizer = get_tokenizer("esm")
    batches = plan_packing([5, 6, 7, 8], 8, 2)
    bad = ["AAAAA", "AAAAAA", "AAAAAAA", "a"]  # lower case is not a residue the tokenizer knows
    with pytest.raises(InvalidInputError, match="upper-case"):
        list(PackedFeeder(batches, bad, tokenizer, "cpu"))
    good = random_sequences([5, 6, 7, 8])
    feeder = PackedFeeder(batches, good, tokenizer, "cpu", depth=1)
    for _ in feeder:
        break  # leaving the loop closes the feeder; its thread must end
    assert not any(t.name == "packed-feeder" and t.is_alive() for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="only once"):
        list(feeder)
