"""The Neuron engine's entry point: from a CPU model and its batches to a bucketed Neuron model."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from torch import nn

from engines.catalog import ModelInfo
from engines.errors import UnsupportedError
from engines.inputs import TensorBatch
from engines.spec import RunSpec

from .buckets import BucketShape
from .cache import CacheKey, CompileCache, structure_fingerprint, weights_identity
from .checks import check_neuron_spec, neuron_notes
from .compiler_args import compiler_args_for
from .gelu import swap_erf_gelu
from .model import BucketedNeuronModel
from .sdk import (
    TorchNeuronx,
    compiler_version,
    import_torch_neuronx,
    neuron_device_files,
    sdk_version,
    visible_core_count,
)
from .tracer import BucketOutcome, TraceableEncoder, compile_or_load, trace_inputs

# stage, buckets done, buckets in all
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PreparedNeuronModel:
    module: BucketedNeuronModel
    seconds: float
    notes: list[str]
    outcomes: list[BucketOutcome]
    cpu_backend: bool


def compile_buckets(
    model: nn.Module,
    info: ModelInfo,
    spec: RunSpec,
    batches: Sequence[TensorBatch],
    on_progress: ProgressCallback | None = None,
    *,
    neuronx: TorchNeuronx | None = None,
    cache: CompileCache | None = None,
    use_cache: bool = True,
    cpu_backend: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> PreparedNeuronModel:
    """Compile (or load from the cache) one Neuron model per bucket shape of ``batches``.

    ``model`` is the CPU model as built (and optimised); its ESM gelu is swapped in place and it
    is traced in fp32 (precision comes from the compiler's auto-cast flags). ``neuronx`` is the
    ``torch_neuronx`` module (imported when not given; tests pass a stand-in). Returns the
    bucketed model, the seconds spent compiling or loading, notes for the run and per-bucket
    outcomes.
    """
    began = time.perf_counter()
    check_neuron_spec(spec)
    if not batches:
        raise UnsupportedError("the workload has no batches: nothing to compile for Neuron")
    sdk = import_torch_neuronx() if neuronx is None else neuronx
    values = os.environ if env is None else env
    no_device = not neuron_device_files()
    offline = no_device if cpu_backend is None else cpu_backend
    report = on_progress or _ignore_progress
    store = (cache or CompileCache()) if use_cache else None

    swapped = swap_erf_gelu(model)
    model = model.float().eval().requires_grad_(False)
    traceable = TraceableEncoder(model).eval()
    examples = _first_batch_per_shape(batches)
    cores = _data_parallel_cores(spec, values, examples) if spec.neuron_data_parallel else 1
    args = compiler_args_for(spec)
    common = _key_fields(info, spec, sdk)
    variant = common_variant(model, spec, swapped, values)

    modules: dict[BucketShape, Any] = {}
    outcomes: list[BucketOutcome] = []
    total = len(examples)
    with tempfile.TemporaryDirectory(prefix="plmprof-neuron-") as scratch:
        for done, (shape, batch) in enumerate(examples.items()):
            traced_rows = shape.rows // cores
            report(f"bucket {shape.label}: compiling or loading", done, total)
            example = trace_inputs(batch.input_ids, batch.attention_mask, traced_rows)
            key = CacheKey(
                rows=traced_rows,
                tokens=shape.tokens,
                compiler_args=tuple(args),
                **common,
                variant={**variant, "input": _dtype(example)},
            )
            with torch.no_grad():
                traced, outcome = compile_or_load(
                    sdk,
                    traceable,
                    BucketShape(traced_rows, shape.tokens),
                    example,
                    key,
                    store,
                    args,
                    cpu_backend=offline,
                    scratch=Path(scratch),
                )
            if spec.neuron_data_parallel and not offline:
                traced = sdk.DataParallel(
                    traced, device_ids=None, dim=0, set_dynamic_batching=False
                )
            modules[shape] = traced
            outcomes.append(outcome)
            how = "from cache" if outcome.cached else f"compiled in {outcome.seconds:.1f} s"
            report(f"bucket {shape.label}: {how}", done + 1, total)

    notes = [*neuron_notes(spec), *_compile_notes(outcomes, swapped, store, offline, cores)]
    module = BucketedNeuronModel(modules, data_parallel=spec.neuron_data_parallel)
    return PreparedNeuronModel(module, time.perf_counter() - began, notes, outcomes, offline)


def _ignore_progress(stage: str, done: int, total: int) -> None:
    del stage, done, total


def _first_batch_per_shape(batches: Sequence[TensorBatch]) -> dict[BucketShape, TensorBatch]:
    found: dict[BucketShape, TensorBatch] = {}
    for batch in batches:
        rows, tokens = (int(n) for n in batch.input_ids.shape)
        found.setdefault(BucketShape(rows, tokens), batch)
    return dict(sorted(found.items()))


def _data_parallel_cores(
    spec: RunSpec, env: Mapping[str, str], examples: Mapping[BucketShape, TensorBatch]
) -> int:
    cores = visible_core_count(env, spec.neuron_target)
    if cores is None:
        raise UnsupportedError(
            "--neuron-data-parallel needs to know how many NeuronCores share a batch: set "
            "NEURON_RT_VISIBLE_CORES (e.g. 0-1) or NEURON_RT_NUM_CORES"
        )
    for shape in examples:
        if shape.rows % cores:
            raise UnsupportedError(
                f"--neuron-data-parallel splits each batch over {cores} NeuronCores: use a "
                f"batch size that is a multiple of {cores} (got {shape.rows})"
            )
    return cores


def _key_fields(info: ModelInfo, spec: RunSpec, sdk: TorchNeuronx) -> dict[str, Any]:
    return {
        "model": info.id,
        "weights": weights_identity(spec.weights, spec.seed, info.hub_id),
        "sdk_version": sdk_version(sdk),
        "compiler_version": compiler_version(),
    }


def common_variant(
    model: nn.Module, spec: RunSpec, swapped: int, env: Mapping[str, str]
) -> dict[str, Any]:
    """What else changes the compiled graph: the model's layout and attention, pruning, library
    versions, the gelu swap and flags forwarded through ``NEURON_CC_FLAGS``."""
    config = getattr(model, "config", None)
    return {
        "attention": getattr(config, "_attn_implementation", None) or spec.attention,
        "prune": spec.prune,
        "prune_layers": spec.prune_layers,
        "prune_heads": spec.prune_heads,
        "structure": structure_fingerprint(model),
        "gelu_swaps": swapped,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "neuron_cc_flags": env.get("NEURON_CC_FLAGS", ""),
    }


def _dtype(example: tuple[torch.Tensor, torch.Tensor]) -> str:
    return ",".join(str(t.dtype).removeprefix("torch.") for t in example)


def _compile_notes(
    outcomes: Sequence[BucketOutcome],
    swapped: int,
    cache: CompileCache | None,
    offline: bool,
    cores: int,
) -> list[str]:
    cached = sum(o.cached for o in outcomes)
    notes = [
        f"Neuron: {len(outcomes)} bucket(s), {cached} from the compile cache, "
        f"{len(outcomes) - cached} compiled"
        + (f" (cache: {cache.root})" if cache is not None else " (cache off)")
    ]
    if swapped:
        notes.append(f"Neuron: erf gelu replaced by F.gelu in {swapped} ESM layer(s)")
    if offline:
        notes.append("Neuron: compiled with cpu_backend (no Neuron device here)")
    if cores > 1:
        notes.append(f"Neuron: data parallel over {cores} NeuronCores")
    notes.extend(o.note for o in outcomes if o.note)
    return notes
