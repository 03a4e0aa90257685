"""int8 quantization of the Linear layers the forward pass runs.

- ``dynamic``: int8 weights, activations quantized per batch at run time. On CPU with
  ``torch.ao.quantization.quantize_dynamic`` (per-channel weights, fp32 in and out; deprecated in
  torch but still the fbgemm/x86 path); on CUDA with torchao's
  ``Int8DynamicActivationInt8WeightConfig``.
- ``weight-only``: int8 weights dequantized in the matmul, activations in the model's dtype; torchao
  ``Int8WeightOnlyConfig`` on CPU and CUDA.

torchao is the optional extra ``int8`` (``pip install 'plmprof[int8]'``). Importing it, and
quantizing with torch.ao, prints deprecation and loader warnings; both are silenced here so the
worker's stderr stays clean. The CUDA paths follow torchao's documented ``quantize_`` API and are
UNTESTED on a GPU here.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from engines.errors import UnsupportedError
from engines.optimizations.targets import run_linears

INSTALL_HINT = "pip install 'plmprof[int8]'"


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence Python warnings and log records below ERROR (torchao's loader notices, torch's
    deprecation notices) for the duration of the block."""
    previous = logging.root.manager.disable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            yield
        finally:
            logging.disable(previous)


def torchao_available() -> bool:
    return importlib.util.find_spec("torchao") is not None


def _torchao_quantization(scheme: str) -> Any:
    if not torchao_available():
        raise UnsupportedError(
            f"--int8 {scheme} here needs torchao, which is not installed: {INSTALL_HINT}"
        )
    with quiet():
        import torchao.quantization as quantization
    return quantization


def quantize(model: nn.Module, scheme: str, device: torch.device) -> dict[str, Any]:
    """Quantize ``model`` in place; return what was done."""
    if device.type not in ("cpu", "cuda"):
        raise UnsupportedError(f"--int8 {scheme}: no int8 path for device {device}")
    if device.type == "cpu" and scheme == "dynamic":
        return _torch_ao_dynamic(model)
    return _torchao(model, scheme, device)


def _torch_ao_dynamic(model: nn.Module) -> dict[str, Any]:
    names = [name for name, _ in run_linears(model)]
    with quiet():
        try:
            from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
        except ImportError:
            raise UnsupportedError(
                "--int8 dynamic on CPU uses torch.ao.quantization.quantize_dynamic, which torch "
                f"{torch.__version__} no longer has; try --int8 weight-only ({INSTALL_HINT})"
            ) from None
        quantize_dynamic(
            model,
            {name: per_channel_dynamic_qconfig for name in names},
            dtype=torch.qint8,
            inplace=True,
        )
    converted = sum(
        1 for m in model.modules() if type(m).__module__.startswith("torch.ao.nn.quantized.dynamic")
    )
    return {
        "scheme": "dynamic",
        "implementation": "torch.ao.quantization.quantize_dynamic",
        "weights": "int8, per output channel",
        "activations": "quantized to int8 per batch at run time; fp32 in and out",
        "layers": converted,
    }


def _torchao(model: nn.Module, scheme: str, device: torch.device) -> dict[str, Any]:
    quantization = _torchao_quantization(scheme)
    if scheme == "weight-only":
        config = quantization.Int8WeightOnlyConfig()
        name = "Int8WeightOnlyConfig"
        activations = "unquantized, in the model's dtype"
    else:
        config = quantization.Int8DynamicActivationInt8WeightConfig()
        name = "Int8DynamicActivationInt8WeightConfig"
        activations = "quantized to int8 per token at run time"
    names = {name for name, _ in run_linears(model)}

    def chosen(module: nn.Module, fqn: str) -> bool:
        return isinstance(module, nn.Linear) and fqn in names

    with quiet():
        quantization.quantize_(model, config, filter_fn=chosen)
    converted = sum(
        1
        for _, module in run_linears(model)
        if type(module.weight) not in (torch.Tensor, nn.Parameter)
    )
    report: dict[str, Any] = {
        "scheme": scheme,
        "implementation": f"torchao.quantization.quantize_ with {name}",
        "weights": "int8, per output channel",
        "activations": activations,
        "layers": converted,
        "torchao": _torchao_version(),
    }
    if device.type == "cuda":
        report["note"] = "torchao CUDA path: written to torchao's documented API, untested here"
    return report


def _torchao_version() -> str | None:
    with quiet():
        try:
            import torchao

            return str(getattr(torchao, "__version__", None))
        except ImportError:
            return None
