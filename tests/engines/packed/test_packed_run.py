"""``--packing`` as a run option: validation, planning, the worker loop, quality and the FLOPs the
Result counts for packed rows."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engines.batching import PackedBatch
from engines.catalog import get_model_info
from engines.errors import InvalidInputError, UnsupportedError
from engines.inputs import packing_budget, padded_view, plan_workload
from engines.messages import BatchDone, Failed, Loaded, Optimized, Quality
from engines.optimizations import check
from engines.packed.worker import packed_backend
from engines.spec import RunSpec
from engines.structure import ModelShape
from profilers.work import computed_flops
from tests.tiny_models import register, result_of, run_in_process, tiny_spec

VARIED = {"seq_len": None, "lengths": "uniform:10-60", "num_sequences": 10}


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"attention": "varlen"}, "--attention varlen runs on packed rows: add --packing"),
        ({"attention": "flex"}, "--attention flex runs on packed rows: add --packing"),
        ({"packing": True, "attention": "eager"}, "not eager"),
        ({"packing": True, "buckets": (64, 128)}, "--buckets pads to fixed lengths: pick one"),
    ],
)
def test_spec_rejects_packing_combinations(settings: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidInputError, match=words):
        RunSpec(**settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"model": "prot_t5_xl_enc", "packing": True}, "not implemented for T5 encoders"),
        ({"packing": True, "int8": "dynamic"}, "--packing with --int8 dynamic"),
        ({"packing": True, "prune": "unstructured:0.5"}, "--prune unstructured:0.5"),
        ({"packing": True, "prune_heads": 2}, "--prune-heads 2"),
        ({"packing": True, "attention": "varlen", "dtype": "bf16"}, "CUDA with --dtype bf16"),
        ({"packing": True, "device": "neuron"}, "Neuron traces fixed shapes"),
    ],
)
def test_unsupported_packing_is_refused_before_any_work(
    settings: dict[str, object], words: str
) -> None:
    with pytest.raises(UnsupportedError, match=words):
        check(RunSpec(**settings))  # type: ignore[arg-type]


def test_packed_plan_holds_every_sequence_once_within_the_default_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    register(monkeypatch)
    spec = tiny_spec(packing=True, batch_size=3, **VARIED)
    planned = plan_workload(spec, get_model_info("tiny_esm"))
    lengths = [len(p.sequence) for p in planned.proteins]
    budget = packing_budget(spec, lengths, planned.tokenizer.special_tokens)
    assert budget == 3 * (max(lengths) + 2)
    rows = planned.batches
    assert all(isinstance(row, PackedBatch) for row in rows)
    assert sorted(i for row in rows for i in row.indices) == list(range(len(lengths)))
    assert all(row.padded_tokens <= budget for row in rows)
    assert planned.summary.padded_tokens == planned.summary.real_tokens == sum(lengths) + 2 * 10


def test_sdpa_under_packing_is_jagged_on_gpus_and_one_call_per_sequence_on_cpus() -> None:
    assert packed_backend("sdpa", torch.device("cuda")) == "jagged"
    assert packed_backend("sdpa", torch.device("cpu")) == "segments"
    assert packed_backend("flex", torch.device("cpu")) == "flex"


@pytest.mark.parametrize(
    ("model", "attention"), [("tiny_esm", "sdpa"), ("tiny_esm", "flex"), ("tiny_bert", "sdpa")]
)
def test_packed_worker_runs_and_matches_the_fp32_reference(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model: str, attention: str
) -> None:
    settings = {
        "model": model,
        "packing": True,
        "token_budget": 160,
        "quality": True,
        "attention": attention,
    }
    messages = run_in_process(monkeypatch, **settings, **VARIED)
    assert not [m for m in messages if isinstance(m, Failed)], messages[-1]
    loaded = next(m for m in messages if isinstance(m, Loaded))
    assert all(isinstance(b, PackedBatch) for b in loaded.batches)
    backend = "segments" if attention == "sdpa" else "flex"
    assert loaded.attention == f"packed {backend}"
    report = [m for m in messages if isinstance(m, Optimized)][-1].report
    assert report["attention"] == {"requested": attention, "used": loaded.attention, "notes": []}
    ran = {m.batch for m in messages if isinstance(m, BatchDone)}
    assert ran and ran <= set(range(len(loaded.batches)))
    quality = next(m for m in messages if isinstance(m, Quality))
    assert quality.warning is None
    assert quality.metrics["cosine_min"] > 0.9999
    assert quality.metrics["max_abs_error"] < 1e-3 * quality.metrics["reference_max_abs"]
    assert quality.metrics["sequences"] == sum(b.sequences for b in loaded.batches[:2])

    result = result_of(tiny_spec(**settings, **VARIED), messages)
    assert result.workload["measured_padding_fraction"] == 0.0
    assert loaded.shape.sequence_linear_params == 0  # no pooler runs on packed rows


def test_packed_flops_count_each_sequence_on_its_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A packed row computes each sequence's attention alone: the FLOPs the device did equal the
    useful FLOPs, where a padded batch of the same sequences computes more."""
    settings = {"packing": True, "token_budget": 160, **VARIED}
    messages = run_in_process(monkeypatch, **settings)
    result = result_of(tiny_spec(**settings), messages)
    efficiency = result.efficiency
    assert efficiency["padded_flops"] == efficiency["useful_flops"] > 0

    loaded = next(m for m in messages if isinstance(m, Loaded))
    row = loaded.batches[0]
    assert isinstance(row, PackedBatch)
    padded = padded_view(row)
    assert padded.padded_len == max(row.token_lengths)
    packed_flops = computed_flops(loaded.shape, row)
    padded_flops = computed_flops(loaded.shape, padded)
    assert packed_flops < padded_flops or len(set(row.token_lengths)) == 1


def test_computed_flops_count_each_packed_segment() -> None:
    shape = ModelShape(
        parameters=0, token_linear_params=10, sequence_linear_params=0, attn_dims=(4, 4)
    )
    batch = PackedBatch(indices=(0, 1), token_lengths=(3, 5), special=2, padding=2)
    assert computed_flops(shape, batch) == 2 * 10 * 10 + 4 * 8 * (9 + 25 + 4)
