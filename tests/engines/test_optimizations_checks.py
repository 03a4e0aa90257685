"""Impossible combinations fail before any work, with a clear message; possible ones pass."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from engines.errors import UnsupportedError
from engines.messages import Failed, Status
from engines.optimizations import check, int8
from engines.optimizations import compile as compile_step
from engines.preflight import check_runnable
from engines.spec import RunSpec
from tests.tiny_models import run_in_process

REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"device": "neuron", "int8": "dynamic"}, "no int8 path for Neuron"),
    ({"device": "neuron", "compile": "default"}, "neuronx-cc compiles"),
    ({"prune": "2:4"}, "needs a CUDA GPU"),
    ({"device": "neuron", "prune": "2:4", "dtype": "bf16"}, "needs a CUDA GPU"),
    ({"prune_layers": 6}, "esm2_t6_8M has 6 layers and at least one must remain"),
    ({"model": "prot_bert", "prune_layers": 31}, "use 1 to 29"),
    ({"prune_heads": 20}, "20 heads per layer and at least one must remain"),
    ({"model": "prot_t5_xl_enc", "prune_heads": 32}, "use 1 to 31"),
    ({"int8": "dynamic", "dtype": "bf16"}, "takes fp32 activations"),
    ({"int8": "dynamic", "dtype": "fp16", "autocast": True}, "drop --autocast"),
    ({"autocast": True}, "nothing to autocast"),
]


@pytest.mark.parametrize(("settings", "message"), REFUSED)
def test_impossible_combinations_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(UnsupportedError, match=message):
        check(RunSpec(**settings))


def test_int8_with_2_4_is_refused() -> None:
    with pytest.raises(UnsupportedError, match="pick one"):
        check(RunSpec(device="cuda", int8="weight-only", prune="2:4", dtype="bf16"))


def test_2_4_needs_half_precision_weights() -> None:
    with pytest.raises(UnsupportedError, match="fp16 or bf16"):
        check(RunSpec(device="cuda", prune="2:4"))


def test_weight_only_int8_without_torchao_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(int8, "torchao_available", lambda: False)
    with pytest.raises(UnsupportedError, match=r"pip install 'plmprof\[int8\]'"):
        check(RunSpec(int8="weight-only"))
    with pytest.raises(UnsupportedError, match=r"on CUDA needs torchao"):
        check(RunSpec(device="cuda", int8="dynamic"))
    check(RunSpec(int8="dynamic"))  # torch.ao on CPU needs no extra


def test_compile_on_cpu_without_a_compiler_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compile_step, "cpu_compiler", lambda: None)
    with pytest.raises(UnsupportedError, match="needs a C\\+\\+ compiler"):
        check(RunSpec(compile="default"))


def test_everything_implemented_passes_preflight_on_cpu() -> None:
    spec = RunSpec(
        int8="dynamic",
        prune="unstructured:0.5",
        prune_layers=5,
        prune_heads=19,
        compile="max-autotune",
        quality=True,
        seq_len=64,
    )
    planned = check_runnable(spec)
    assert planned.summary.sequences > 0
    check_runnable(RunSpec(dtype="bf16", autocast=True, attention="flash_attention_2"))


def test_the_worker_refuses_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    messages = run_in_process(monkeypatch, prune="2:4", dtype="bf16")
    (failed,) = messages
    assert isinstance(failed, Failed)
    assert failed.status is Status.UNSUPPORTED
    assert "needs a CUDA GPU" in failed.message


@pytest.mark.cuda
def test_2_4_on_an_old_gpu_is_refused() -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA: compute capability check for 2:4")
    major, _ = torch.cuda.get_device_capability()
    spec = RunSpec(device="cuda", prune="2:4", dtype="fp16")
    if major < 8:
        with pytest.raises(UnsupportedError, match=r"compute capability 8\.0"):
            check(spec)
    else:
        check(spec)
