"""Compile one bucket with ``torch_neuronx.trace``, or load it from the cache.

Hugging Face encoders return ``ModelOutput`` objects; a trace wants tensors in and out, so the
model is wrapped in :class:`TraceableEncoder`, called as ``(input_ids, attention_mask)`` and
returning ``last_hidden_state`` (plus ``pooler_output`` where the model has a pooler, so the
compiled graph keeps the same work as the eager model).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engines.failures import CompileFailedError

from .buckets import BucketShape
from .cache import CacheKey, CompileCache
from .sdk import TorchNeuronx


class NeuronCompileError(CompileFailedError):
    """``neuronx-cc`` (through ``torch_neuronx.trace``) could not compile a bucket: the worker
    ends with status ``compile_failed``."""


class TraceableEncoder(nn.Module):
    """``model(input_ids=, attention_mask=)`` as a function of two tensors returning tensors."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        return encoder_outputs(self.model(input_ids=input_ids, attention_mask=attention_mask))


def encoder_outputs(output: object) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """The tensors a traced graph returns for one model output."""
    if isinstance(output, torch.Tensor):
        return output
    hidden = getattr(output, "last_hidden_state", None)
    if isinstance(hidden, torch.Tensor):
        pooled = getattr(output, "pooler_output", None)
        return (hidden, pooled) if isinstance(pooled, torch.Tensor) else hidden
    if isinstance(output, tuple | list):
        tensors = tuple(t for t in output if isinstance(t, torch.Tensor))
        if tensors:
            return tensors[0] if len(tensors) == 1 else tensors
    raise TypeError(f"cannot trace a model that returns {type(output).__name__}")


def trace_inputs(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, rows: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Example inputs for one bucket: the first ``rows`` rows of a real batch of that bucket.

    A trace keeps Python control flow as it went on the example. transformers skips building the
    attention mask when every position is real (under SDPA, outside a jit trace), which would
    compile a graph that ignores padding; so the example mask always has a padded position.
    """
    ids = input_ids[:rows].contiguous().clone()
    mask = attention_mask[:rows].contiguous().clone()
    if bool(mask.all()) and mask.shape[-1] > 1:
        mask[0, -1] = 0
    return ids, mask


@dataclass(frozen=True)
class BucketOutcome:
    """How one bucket was obtained: traced now, or loaded from ``path``."""

    shape: BucketShape
    cached: bool
    seconds: float
    path: Path | None
    note: str | None = None


def trace_bucket(
    neuronx: TorchNeuronx,
    module: nn.Module,
    example: tuple[torch.Tensor, torch.Tensor],
    compiler_args: Sequence[str],
    workdir: Path,
    *,
    cpu_backend: bool,
    label: str,
) -> Any:
    """``torch_neuronx.trace`` with explicit flags; ``cpu_backend=True`` compiles without a device
    (passed only when set, so SDK versions without the keyword still work)."""
    workdir.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {
        "compiler_workdir": str(workdir),
        "compiler_args": list(compiler_args),
    }
    if cpu_backend:
        options["cpu_backend"] = True
    try:
        traced = neuronx.trace(module, example, **options)
    except MemoryError:
        raise
    except Exception as exc:  # the SDK raises many types; each becomes one clear message
        text = str(exc).strip()
        first = text.splitlines()[0][:300] if text else type(exc).__name__
        if "out of memory" in text.lower():
            raise MemoryError(f"compiling bucket {label}: {first}") from exc
        raise NeuronCompileError(
            f"Neuron compilation of bucket {label} failed: {first} (compiler work directory "
            f"kept at {workdir}; flags: {' '.join(compiler_args)})"
        ) from exc
    shutil.rmtree(workdir, ignore_errors=True)
    return traced


def compile_or_load(
    neuronx: TorchNeuronx,
    module: nn.Module,
    shape: BucketShape,
    example: tuple[torch.Tensor, torch.Tensor],
    key: CacheKey,
    cache: CompileCache | None,
    compiler_args: Sequence[str],
    *,
    cpu_backend: bool,
    scratch: Path,
) -> tuple[Any, BucketOutcome]:
    """The traced module for ``shape``: from the cache when it holds ``key``, else compiled now
    and stored. Concurrent workers wait for each other per key instead of compiling twice."""
    began = time.perf_counter()
    if cache is None:
        traced = trace_bucket(
            neuronx,
            module,
            example,
            compiler_args,
            scratch / key.digest()[:24],
            cpu_backend=cpu_backend,
            label=shape.label,
        )
        return traced, BucketOutcome(shape, False, time.perf_counter() - began, None)
    with cache.lock(key):
        loaded, problem = cache.load(key)
        if loaded is not None:
            seconds = time.perf_counter() - began
            return loaded, BucketOutcome(shape, True, seconds, cache.path_for(key))
        traced = trace_bucket(
            neuronx,
            module,
            example,
            compiler_args,
            cache.workdir_for(key),
            cpu_backend=cpu_backend,
            label=shape.label,
        )
        stored: Path | None = None
        try:
            stored = cache.store(key, traced)
        except OSError as exc:
            problem = f"could not write the compile cache ({exc})"
    return traced, BucketOutcome(shape, False, time.perf_counter() - began, stored, problem)
