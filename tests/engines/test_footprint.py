"""Weight bytes as run (engines.footprint), by hand on a small module, and in a run's Result."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from engines.footprint import weight_bytes
from tests.tiny_models import result_of, run_in_process, tiny_spec


def _small() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 64), nn.LayerNorm(64))


def test_fp32_and_bf16_bytes() -> None:
    # Linear 64x64 weight + 64 bias, LayerNorm 64 weight + 64 bias: 4,288 values
    assert weight_bytes(_small()) == {"bytes": 4288 * 4, "by_dtype": {"torch.float32": 17152}}
    assert weight_bytes(_small().to(torch.bfloat16))["bytes"] == 4288 * 2


def test_int8_dynamic_counts_one_byte_per_quantized_weight() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantized = torch.ao.quantization.quantize_dynamic(_small(), {nn.Linear}, torch.qint8)
    # 4,096 int8 weights; fp32: Linear bias 64 + LayerNorm 128 + the scale; int64 zero point
    assert weight_bytes(quantized)["by_dtype"] == {
        "torch.float32": (64 + 128 + 1) * 4,
        "torch.int64": 8,
        "torch.qint8": 4096,
    }


def test_an_int8_result_reports_weights_apart_from_the_build_copy_in_its_peak(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    messages = run_in_process(monkeypatch, int8="dynamic")  # registers the tiny models
    result = result_of(tiny_spec(int8="dynamic"), messages)
    memory = result.memory
    assert memory is not None
    weights, built = memory["weights"], memory["weights_built"]
    assert "torch.qint8" in weights["by_dtype"] and "torch.qint8" not in built["by_dtype"]
    assert weights["total"] < built["total"]
    assert "peak RSS includes the weights as built" in memory["peak_note"]
    messages = run_in_process(monkeypatch)
    plain = result_of(tiny_spec(), messages).memory
    assert plain is not None
    assert plain["weights_built"] is None and plain["peak_note"] is None
    assert plain["weights"]["total"] == pytest.approx(built["total"])


def test_parameters_say_what_they_count_and_which_run(monkeypatch: pytest.MonkeyPatch) -> None:
    messages = run_in_process(monkeypatch)
    model = result_of(tiny_spec(), messages).model
    assert model is not None
    # tiny ESM: 2 layers x 4 heads feed the contact head's Linear(8 -> 1): 9 weights never run
    assert model["parameters"] - model["parameters_run"] == 9
    assert "no language-model head" in model["parameters_counted"]
