"""Optimizations of a built model, each measured as it is and reported as it happened.

One entry point, :func:`optimize`, applies in order: structural pruning (layers, then heads),
weight pruning (unstructured magnitude or the 2:4 mask), reads the model's shape (so parameter
counts and FLOPs follow structural pruning), then int8 quantization and the 2:4 conversion.
Precision (weights dtype, autocast) is chosen when the model is built (:mod:`.precision`);
``torch.compile`` wraps the result in the worker (:mod:`.compile`), and ``--quality`` compares
with an fp32 reference (:mod:`.quality`). :func:`check` rejects impossible combinations before any
work, in preflight and again in the worker.

The report is plain JSON-ready data that ends up in ``Result.model["optimizations"]``.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from engines.catalog import get_model_info
from engines.errors import UnsupportedError
from engines.footprint import weight_bytes
from engines.optimizations import compile as compile_step
from engines.optimizations import int8, precision, pruning
from engines.spec import RunSpec
from engines.structure import ModelShape, model_shape, run_parameters

__all__ = ["OptimizedModel", "check", "optimize", "preload"]


@dataclass
class OptimizedModel:
    module: nn.Module
    shape: ModelShape
    report: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _families(spec: RunSpec) -> set[str]:
    return {device.partition(":")[0] for device in spec.worker_devices()}


def _config_value(config: dict[str, Any], *names: str) -> int | None:
    for name in names:
        if name in config:
            return int(config[name])
    return None


def check(spec: RunSpec) -> None:
    """Raise ``UnsupportedError`` for a combination of settings that cannot run."""
    families = _families(spec)
    _check_precision(spec)
    _check_int8(spec, families)
    _check_pruning(spec, families)
    _check_compile(spec, families)
    _check_packing(spec, families)


def _check_precision(spec: RunSpec) -> None:
    if spec.autocast and spec.dtype == "fp32":
        raise UnsupportedError(
            "--autocast keeps fp32 weights and runs matmuls in --dtype; with --dtype fp32 there "
            "is nothing to autocast: use --dtype bf16 or fp16 with it, or drop --autocast"
        )


def _check_int8(spec: RunSpec, families: set[str]) -> None:
    if spec.int8 == "none":
        return
    if "neuron" in families:
        raise UnsupportedError(
            f"--int8 {spec.int8}: there is no int8 path for Neuron here; use --dtype bf16 or fp16"
        )
    if spec.prune == "2:4":
        raise UnsupportedError(
            f"--int8 {spec.int8} with --prune 2:4: pick one (int8 2:4 kernels are not wired up)"
        )
    if spec.autocast:
        raise UnsupportedError(
            f"--int8 {spec.int8} sets the matmul precision itself: drop --autocast"
        )
    if "cpu" in families and spec.int8 == "dynamic" and spec.dtype != "fp32":
        raise UnsupportedError(
            f"--int8 dynamic on CPU (torch.ao quantize_dynamic) takes fp32 activations; use "
            f"--dtype fp32 (got {spec.dtype}), or --int8 weight-only with {spec.dtype}"
        )
    needs_torchao = "cuda" in families or spec.int8 == "weight-only"
    if needs_torchao and not int8.torchao_available():
        where = " on CUDA" if spec.int8 == "dynamic" else ""
        raise UnsupportedError(
            f"--int8 {spec.int8}{where} needs torchao, which is not installed: {int8.INSTALL_HINT}"
        )


def _check_pruning(spec: RunSpec, families: set[str]) -> None:
    config = get_model_info(spec.model).config
    if spec.prune_layers:
        layers = _config_value(config, "num_hidden_layers", "num_layers")
        if layers is not None and spec.prune_layers >= layers:
            raise UnsupportedError(
                f"--prune-layers {spec.prune_layers}: {spec.model} has {layers} layers and at "
                f"least one must remain (use 1 to {layers - 1})"
            )
    if spec.prune_heads:
        heads = _config_value(config, "num_attention_heads", "num_heads")
        if heads is not None and spec.prune_heads >= heads:
            raise UnsupportedError(
                f"--prune-heads {spec.prune_heads}: {spec.model} has {heads} heads per layer and "
                f"at least one must remain (use 1 to {heads - 1})"
            )
    if spec.prune != "2:4":
        return
    if families != {"cuda"}:
        raise UnsupportedError(
            "--prune 2:4 needs a CUDA GPU with compute capability 8.0 or newer (semi-structured "
            "sparse kernels); on CPU use --prune unstructured:0.5 (dense kernels gain nothing)"
        )
    if spec.dtype == "fp32" or spec.autocast:
        raise UnsupportedError(
            "--prune 2:4 runs fp16 or bf16 weights (cuSPARSELt has no fp32 kernels): use --dtype "
            "bf16 or fp16 without --autocast"
        )
    if torch.cuda.is_available():
        for device in spec.worker_devices():
            pruning.semi_structured_backend(torch.device(device))


def _check_compile(spec: RunSpec, families: set[str]) -> None:
    if spec.compile == "none":
        return
    if "neuron" in families:
        raise UnsupportedError(
            f"--compile {spec.compile} is torch.compile; on Neuron, neuronx-cc compiles the "
            "traced model already: leave --compile none"
        )
    if "cpu" in families and compile_step.cpu_compiler() is None:
        raise UnsupportedError(
            f"--compile {spec.compile} on CPU needs a C++ compiler for inductor and none was "
            f"found ({', '.join(compile_step.COMPILERS)}): install one (apt-get install g++) or "
            "use --compile none"
        )


def _check_packing(spec: RunSpec, families: set[str]) -> None:
    if not spec.packing:
        return
    from engines.packed.api import packed_support

    reason = packed_support(get_model_info(spec.model))
    if reason is not None:
        raise UnsupportedError(f"--packing: {reason}")
    if "neuron" in families:
        raise UnsupportedError(
            "--packing runs variable-length attention; Neuron traces fixed shapes: use --buckets"
        )
    changed = [
        flag
        for flag, used in (
            (f"--int8 {spec.int8}", spec.int8 != "none"),
            (f"--prune {spec.prune}", spec.prune != "none"),
            (f"--prune-heads {spec.prune_heads}", spec.prune_heads > 0),
        )
        if used
    ]
    if changed:
        raise UnsupportedError(
            f"--packing with {', '.join(changed)}: the packed forward reads each layer's dense "
            "Linear weights and all heads; combine it with --dtype, --prune-layers and --compile"
        )
    if spec.attention == "varlen" and (
        families != {"cuda"} or spec.dtype == "fp32" or spec.autocast
    ):
        raise UnsupportedError(
            "--attention varlen is flash attention over packed rows: CUDA with --dtype bf16 or "
            "fp16 weights only; on CPU use --attention sdpa (jagged) or flex"
        )


def preload(spec: RunSpec) -> None:
    """Import what the run needs before the worker caps its address space: a shared library
    mapped after the cap fails as "failed to map segment", which is no fault of the model.

    Quietly: transformers imports torchao when it is installed, and torchao logs loader notices."""
    modules = ["engines.builders", "torch._dynamo"]
    if spec.int8 != "none":
        modules.append(
            "torch.ao.quantization" if spec.int8 == "dynamic" else "torchao.quantization"
        )
    if spec.compile != "none":
        modules.append("torch._inductor.compile_fx")
    with int8.quiet():
        for name in modules:
            if importlib.util.find_spec(name.partition(".")[0]) is not None:
                importlib.import_module(name)


def optimize(
    model: nn.Module,
    spec: RunSpec,
    device: torch.device,
    *,
    attention: str,
    attention_notes: Sequence[str] = (),
) -> OptimizedModel:
    """Apply ``spec``'s pruning and int8 to a built model; report what changed.

    ``attention`` is the implementation the builder used (after its probe) and
    ``attention_notes`` its fallback notes."""
    report: dict[str, Any] = {
        "precision": precision.describe(spec),
        "attention": {
            "requested": spec.attention,
            "used": attention,
            "notes": list(attention_notes),
        },
    }
    notes: list[str] = []
    pruned: dict[str, Any] = {}
    if spec.prune_layers:
        pruned["layers"] = pruning.drop_layers(model, spec.prune_layers)
    if spec.prune_heads:
        pruned["heads"] = pruning.drop_heads(model, spec.prune_heads)
    kind, sparsity = pruning.parse_prune(spec.prune)
    if kind == "unstructured" and sparsity is not None:
        pruned["unstructured"] = pruning.prune_unstructured(model, sparsity)
        notes.append(f"--prune {spec.prune}: {pruning.UNSTRUCTURED_NOTE}")
    elif kind == "2:4":
        pruned["semi_structured"] = pruning.mask_2_4(model)
        notes.append(f"--prune 2:4: {pruning.SEMI_STRUCTURED_NOTE}")
    if pruned:
        report["pruning"] = pruned
    shape = model_shape(model)
    if spec.int8 != "none" or kind == "2:4":
        report["weights_built"] = weight_bytes(model)  # before conversion: in the RSS peak
    if spec.int8 != "none":
        report["int8"] = int8.quantize(model, spec.int8, device)
    if kind == "2:4":
        pruned["semi_structured"].update(pruning.to_semi_structured(model, device))
    report["weights"] = weight_bytes(model)
    report["parameters"] = shape.parameters
    report["parameters_run"] = run_parameters(model)
    report["linear_parameters"] = shape.token_linear_params
    return OptimizedModel(model, shape, report, notes)
