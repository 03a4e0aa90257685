"""``plmprof compile``: compile a run's buckets into the cache ahead of the run.

The model is built on the CPU exactly as a run builds it (fp32, same attention, same seed or
weights, same pruning), the workload is planned into the same buckets, and every bucket is
compiled with the same flags, so a later ``plmprof run`` with the same settings loads each bucket
from the cache. Without a Neuron device the compiler runs with ``cpu_backend=True``
(torch-neuronx must still be installed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from engines.builders import build_model
from engines.catalog import get_model_info
from engines.inputs import to_tensors
from engines.optimizations import check as check_optimizations
from engines.optimizations import optimize
from engines.spec import RunSpec

from .buckets import plan_neuron_workload
from .cache import CompileCache
from .checks import check_neuron_spec
from .compiler_args import compiler_args_for
from .engine import ProgressCallback, compile_buckets
from .sdk import TorchNeuronx, import_torch_neuronx
from .tracer import BucketOutcome


@dataclass(frozen=True)
class PrecompileReport:
    spec: RunSpec
    cache_root: Path
    compiler_args: list[str]
    outcomes: list[BucketOutcome]
    seconds: float
    cpu_backend: bool
    notes: list[str]


def precompile(
    spec: RunSpec,
    on_progress: ProgressCallback | None = None,
    *,
    neuronx: TorchNeuronx | None = None,
    cache: CompileCache | None = None,
    cpu_backend: bool | None = None,
) -> PrecompileReport:
    """Compile every bucket ``spec``'s workload needs into the cache; say what was done."""
    began = time.perf_counter()
    info = get_model_info(spec.model)
    check_neuron_spec(spec)
    check_optimizations(spec)
    sdk = import_torch_neuronx() if neuronx is None else neuronx
    bucketed, planned = plan_neuron_workload(spec, info)
    built = build_model(
        info,
        weights=spec.weights,
        attention=spec.attention,
        device="cpu",
        dtype=torch.float32,
        seed=spec.seed,
    )
    optimized = optimize(  # the same pruning a run applies, so the cache keys match
        built.module, bucketed, torch.device("cpu"), attention=built.attention
    )
    batches = to_tensors(planned, torch.device("cpu"))
    store = cache or CompileCache()
    prepared = compile_buckets(
        optimized.module,
        info,
        bucketed,
        batches,
        on_progress,
        neuronx=sdk,
        cache=store,
        cpu_backend=cpu_backend,
    )
    return PrecompileReport(
        spec=bucketed,
        cache_root=store.root,
        compiler_args=compiler_args_for(bucketed),
        outcomes=prepared.outcomes,
        seconds=time.perf_counter() - began,
        cpu_backend=prepared.cpu_backend,
        notes=[*built.notes, *optimized.notes, *prepared.notes],
    )
