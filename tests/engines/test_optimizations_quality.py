"""``--quality``: metrics against an fp32 eager reference, a broken model caught, real weights, and
the Result's quality and optimizations sections."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from engines.builders import build_model, fill_random_
from engines.catalog import ModelInfo
from engines.inputs import TensorBatch, plan_workload, to_tensors
from engines.messages import Failed, Finished, Loaded, Optimized, Quality
from engines.optimizations import quality
from engines.optimizations.targets import encoder_linears
from engines.runner import forward
from engines.spec import RunSpec
from tests.tiny_models import register, result_of, run_in_process, tiny_esm, tiny_protst, tiny_spec

CPU = torch.device("cpu")


def _batches(spec: RunSpec, info: ModelInfo) -> tuple[list[TensorBatch], quality.Reference]:
    planned = plan_workload(spec, info)
    batches = to_tensors(planned, CPU)
    reference = quality.compute_reference(
        info, spec.weights, spec.seed, quality.subset(batches), planned.tokenizer, CPU, forward
    )
    return batches, reference


def _check(
    model: nn.Module, batches: list[TensorBatch], reference: quality.Reference
) -> quality.QualityReport:
    outputs = [quality.host_output(forward(model, b), b)[0] for b in quality.subset(batches)]
    return quality.compare(reference, outputs)


def _scaled(model: nn.Module) -> None:
    for _, linear in encoder_linears(model):
        linear.weight.data.mul_(3.0)


def _zeroed(model: nn.Module) -> None:
    for _, linear in encoder_linears(model):
        linear.weight.data.zero_()


def _other_seed(model: nn.Module) -> None:
    fill_random_(model, seed=1)


def test_same_model_has_no_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    register(monkeypatch)
    spec = tiny_spec()
    batches, reference = _batches(spec, tiny_esm())
    report = _check(build_model(tiny_esm()).module, batches, reference)
    assert report.metrics["cosine_min"] > 0.99999
    assert report.metrics["max_abs_error"] < 1e-4
    assert report.metrics["sequences"] == 4 and report.metrics["batches"] == 2
    assert report.warning is None
    assert "same random weights (seed 0)" in report.reference


@pytest.mark.parametrize("break_it", [_scaled, _zeroed, _other_seed])
def test_a_broken_model_is_caught(
    monkeypatch: pytest.MonkeyPatch, break_it: Callable[[nn.Module], None]
) -> None:
    register(monkeypatch)
    batches, reference = _batches(tiny_spec(), tiny_esm())
    model = build_model(tiny_esm()).module
    with torch.no_grad():
        break_it(model)
    report = _check(model, batches, reference)
    assert report.metrics["cosine_min"] < quality.COSINE_THRESHOLD
    assert report.warning is not None and "cosine min" in report.warning


def test_residue_mask_leaves_out_special_tokens_padding_and_dummy_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    register(monkeypatch)
    spec = tiny_spec(
        seq_len=None, lengths="uniform:5-20", num_sequences=3, buckets=(24,), batch_size=4
    )
    planned = plan_workload(spec, tiny_esm())
    (padded,) = to_tensors(planned, CPU)
    assert padded.input_ids.shape == (4, 24)  # the bucket's fixed shape
    assert padded.batch.dummy_rows == 1
    mask = quality.residue_mask(padded, planned.tokenizer)
    assert mask.shape == (3, 24)
    lengths = [len(planned.proteins[i].sequence) for i in padded.batch.indices]
    assert mask.sum(dim=1).tolist() == lengths
    assert not mask[:, 0].any()  # <cls>


def test_non_finite_outputs_warn() -> None:
    reference = quality.Reference(
        outputs=[torch.ones(1, 3, 4)],
        masks=[torch.tensor([[False, True, True]])],
        kind="embeddings",
        description="test",
        seconds=0.0,
    )
    broken = torch.ones(1, 3, 4)
    broken[0, 1, 0] = float("nan")
    report = quality.compare(reference, [broken])
    assert report.metrics["cosine_min"] is None
    assert report.warning is not None and "NaN" in report.warning


def test_protst_compares_logits_with_top1_agreement(monkeypatch: pytest.MonkeyPatch) -> None:
    register(monkeypatch)
    spec = tiny_spec(model="tiny_protst")
    batches, reference = _batches(spec, tiny_protst())
    assert reference.kind == "logits"
    report = _check(build_model(tiny_protst()).module, batches, reference)
    assert report.metrics["top1_agreement"] == 1.0
    assert report.metrics["cosine_min"] > 0.9999
    assert "logits" in report.compared


def test_worker_reports_quality_and_optimizations_in_the_result(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = {"quality": True, "int8": "dynamic", "prune_layers": 1}
    messages = run_in_process(monkeypatch, **settings)
    assert not [m for m in messages if isinstance(m, Failed)]
    kinds = [type(m) for m in messages]
    # the reference is made before the measured model is loaded; quality comes before measuring
    assert kinds.index(Loaded) < kinds.index(Quality) < kinds.index(Optimized)
    assert isinstance(messages[-1], Finished)
    result = result_of(tiny_spec(**settings), messages)
    assert result.status == "ok"
    section = result.quality
    assert section is not None
    assert section["warning"] is not None  # a whole layer is gone: the drift shows
    assert section["cosine_min"] < quality.COSINE_THRESHOLD
    assert any(note.startswith("quality:") for note in result.notes)
    assert result.model is not None
    applied = result.model["optimizations"]
    assert applied["int8"]["layers"] == 6 and applied["int8"]["scheme"] == "dynamic"
    assert applied["pruning"]["layers"]["layers_after"] == 1
    assert result.model["parameters"] == applied["parameters"]
    assert result.model["layers"] == 1


def test_quality_with_real_weights_loads_them_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = build_model(tiny_esm()).module
    fill_random_(model, seed=7)  # not what seed 0 would give: the reference must load the file
    path = tmp_path / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    messages = run_in_process(monkeypatch, quality=True, weights=str(path), seed=0)
    (check,) = [m for m in messages if isinstance(m, Quality)]
    assert check.warning is None
    assert check.metrics["cosine_min"] is not None and check.metrics["cosine_min"] > 0.99999
    assert str(path) in check.reference


def test_quality_is_absent_when_not_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    messages = run_in_process(monkeypatch)
    assert not [m for m in messages if isinstance(m, Quality)]
    result = result_of(tiny_spec(), messages)
    assert result.quality is None
    assert result.model is not None
    assert result.model["optimizations"]["precision"]["dtype"] == "fp32"


def test_attention_fallback_note_reaches_the_result(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    messages = run_in_process(monkeypatch, attention="flash_attention_2")
    result = result_of(tiny_spec(attention="flash_attention_2"), messages)
    assert result.model is not None
    attention = result.model["optimizations"]["attention"]
    assert attention["requested"] == "flash_attention_2"
    if attention["used"] != "flash_attention_2":
        assert attention["notes"] and "using eager" in attention["notes"][0]
        assert result.model["load_notes"] == attention["notes"]
