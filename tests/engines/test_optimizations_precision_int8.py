"""Precision (weights cast, autocast) and int8 (torch.ao dynamic, torchao weight-only) on CPU."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as functional
from torch import nn

from engines.builders import build_model
from engines.errors import UnsupportedError
from engines.optimizations import int8, precision
from engines.optimizations.targets import run_linears
from engines.spec import RunSpec
from tests.tiny_models import tiny_esm

SEQUENCES = 3
TOKENS = 34


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(4, 24, (SEQUENCES, TOKENS), generator=generator)
    ids[:, 0] = 0  # <cls>
    ids[:, -1] = 2  # <eos>
    mask = torch.ones_like(ids)
    mask[1, 20:] = 0
    return ids, mask


def _embeddings(model: nn.Module) -> torch.Tensor:
    ids, mask = _inputs()
    with torch.inference_mode():
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
    weights = mask.unsqueeze(-1).float()
    return (hidden * weights).sum(1) / weights.sum(1)


def _fp32() -> nn.Module:
    return build_model(tiny_esm(), attention="eager").module


def test_weights_dtype_and_autocast_are_separate_choices() -> None:
    bf16 = RunSpec(dtype="bf16")
    auto = RunSpec(dtype="bf16", autocast=True)
    assert precision.weights_dtype(bf16) is torch.bfloat16
    assert precision.weights_dtype(auto) is torch.float32
    assert isinstance(precision.autocast_context(auto, "cpu"), torch.autocast)
    assert not isinstance(precision.autocast_context(bf16, "cpu"), torch.autocast)
    assert precision.describe(auto)["weights"] == "fp32"
    assert precision.describe(bf16)["weights"] == "bf16"


def test_autocast_runs_matmuls_in_bf16_with_fp32_weights() -> None:
    model = _fp32()
    reference = _embeddings(model)
    seen: list[torch.dtype] = []
    handle = model.encoder.layer[0].attention.self.query.register_forward_hook(
        lambda module, args, out: seen.append(out.dtype)
    )
    with precision.autocast_context(RunSpec(dtype="bf16", autocast=True), "cpu"):
        drifted = _embeddings(model)
    handle.remove()
    assert seen == [torch.bfloat16]
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert functional.cosine_similarity(drifted, reference).min() >= 0.99


def test_int8_dynamic_on_cpu_stays_close_to_fp32() -> None:
    model = _fp32()
    reference = _embeddings(model)
    expected_layers = len(run_linears(model))
    report = int8.quantize(model, "dynamic", torch.device("cpu"))
    assert report["implementation"] == "torch.ao.quantization.quantize_dynamic"
    assert report["layers"] == expected_layers == 6 * 2
    assert not any(isinstance(m, nn.Linear) for _, m in run_linears(model))
    cosine = functional.cosine_similarity(_embeddings(model), reference)
    assert cosine.min() >= 0.99


def test_int8_dynamic_leaves_stderr_clean(capfd: pytest.CaptureFixture[str]) -> None:
    model = _fp32()
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        int8.quantize(model, "dynamic", torch.device("cpu"))
        _embeddings(model)
    assert [str(w.message)[:80] for w in seen] == []
    assert capfd.readouterr().err == ""


def test_int8_weight_only_without_torchao_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(int8, "torchao_available", lambda: False)
    with pytest.raises(UnsupportedError, match=r"pip install 'plmprof\[int8\]'"):
        int8.quantize(_fp32(), "weight-only", torch.device("cpu"))


def test_int8_on_an_unknown_device_is_unsupported() -> None:
    with pytest.raises(UnsupportedError, match="no int8 path"):
        int8.quantize(_fp32(), "dynamic", torch.device("meta"))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_int8_weight_only_with_torchao(dtype: torch.dtype) -> None:
    pytest.importorskip("torchao")
    reference = _embeddings(_fp32())
    model = build_model(tiny_esm(), attention="eager", dtype=dtype).module
    report = int8.quantize(model, "weight-only", torch.device("cpu"))
    assert report["implementation"].endswith("Int8WeightOnlyConfig")
    assert report["layers"] == 12
    cosine = functional.cosine_similarity(_embeddings(model), reference)
    assert cosine.min() >= 0.99


@pytest.mark.cuda
def test_int8_on_cuda_uses_torchao() -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA: torchao int8 on a GPU")
    pytest.importorskip("torchao")
    device = torch.device("cuda")
    reference = _embeddings(_fp32())
    for scheme in ("dynamic", "weight-only"):
        built = build_model(tiny_esm(), attention="eager", device=device, dtype=torch.bfloat16)
        report = int8.quantize(built.module, scheme, device)
        assert report["layers"] == 12
        ids, mask = _inputs()
        with torch.inference_mode():
            out = built.module(input_ids=ids.cuda(), attention_mask=mask.cuda())
        hidden = out.last_hidden_state.float().cpu()
        weights = mask.unsqueeze(-1).float()
        pooled = (hidden * weights).sum(1) / weights.sum(1)
        assert functional.cosine_similarity(pooled, reference).min() >= 0.99
