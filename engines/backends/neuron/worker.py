"""The hooks the worker loop (:mod:`engines.runner`) calls when its device is a NeuronCore.

The runner builds the model on the CPU as usual; on Neuron it then (1) opens a
:class:`NeuronCoreDevice` and fills the spec's buckets (:func:`open_neuron_worker`), (2) builds the
weights in fp32, and (3) after ``Loaded``, compiles every bucket (:func:`compile_on_worker`),
sending ``Compiling`` per bucket and ``Compiled`` at the end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from engines.backends.torch_device import TorchDevice
from engines.catalog import ModelInfo
from engines.inputs import TensorBatch
from engines.messages import Compiled, Compiling, WorkerMessage
from engines.spec import RunSpec

from .buckets import describe_buckets, plan_neuron_workload
from .cache import CompileCache
from .checks import check_neuron_spec, neuron_notes
from .engine import compile_buckets
from .sdk import TorchNeuronx, logical_core_size, parse_core_list, visible_core_count

Send = Callable[[WorkerMessage], None]


@dataclass(frozen=True)
class NeuronCoreDevice(TorchDevice):
    """A NeuronCore seen from the timing loop. Inputs and outputs are CPU tensors, so ``device``
    is the CPU; a traced call returns once its results are on the host, so there is nothing to
    synchronise; the torch allocator knows nothing of device memory (neuron-monitor reports it)."""

    target: str = "inf2"
    cores: str | None = None
    notes: tuple[str, ...] = ()
    data_parallel: bool = False
    visible_cores: int | None = None  # how many cores this process may use, when known
    logical_size: int = 1  # physical NeuronCores per logical core (trn2's LNC setting)

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def name(self) -> str:
        where = f", core {self.cores}" if self.cores else ""
        return f"AWS NeuronCore ({self.target}{where})"

    def compute_units(self) -> tuple[str, ...]:
        """The NeuronCores the model runs on: every visible core with ``--neuron-data-parallel``,
        else the first visible one (a traced model loaded in a process runs on one core, though
        the runtime reserves all it may see). Physical cores: on trn2 a logical core of LNC=2
        is two NeuronCore-v3, the unit its peak is given per."""
        listed = parse_core_list(self.cores) if self.cores else []
        count = len(listed) or self.visible_cores or 1
        logical = listed or list(range(count))
        used = logical if self.data_parallel else logical[:1]
        if self.logical_size == 1:
            return tuple(f"neuroncore:{core}" for core in used)
        return tuple(
            f"neuroncore:{core}.{part}" for core in used for part in range(self.logical_size)
        )

    def synchronize(self) -> None:
        """Nothing queued: the traced call is synchronous."""

    def reset_peaks(self) -> None:
        """No allocator statistics on Neuron."""

    def allocated(self) -> int | None:
        return None

    def max_allocated(self) -> int | None:
        return None

    def max_reserved(self) -> int | None:
        return None

    def limit_memory(self, megabytes: int) -> None:
        """Device memory is not capped from torch; the host cap is RLIMIT_AS."""
        del megabytes


def is_neuron_device(device: str) -> bool:
    return device.partition(":")[0] == "neuron"


def open_neuron_worker(
    device: str, spec: RunSpec, info: ModelInfo, env: Mapping[str, str] | None = None
) -> tuple[RunSpec, NeuronCoreDevice]:
    """Check the spec for Neuron, fill in its bucket boundaries, and open the device."""
    check_neuron_spec(spec)
    bucketed, _ = plan_neuron_workload(spec, info)
    values = os.environ if env is None else env
    notes = (describe_buckets(bucketed, given=bool(spec.buckets)), *neuron_notes(spec))
    opened = NeuronCoreDevice(
        torch.device("cpu"),
        target=spec.neuron_target,
        cores=values.get("NEURON_RT_VISIBLE_CORES") or None,
        notes=notes,
        data_parallel=spec.neuron_data_parallel,
        visible_cores=visible_core_count(values, spec.neuron_target),
        logical_size=logical_core_size(values, spec.neuron_target),
    )
    return bucketed, opened


def worker_notes(device: TorchDevice) -> tuple[str, ...]:
    """What a Neuron worker adds to ``Loaded.notes`` (nothing on other devices)."""
    return device.notes if isinstance(device, NeuronCoreDevice) else ()


def compile_on_worker(
    index: int,
    model: nn.Module,
    info: ModelInfo,
    spec: RunSpec,
    batches: Sequence[TensorBatch],
    send: Send,
    *,
    neuronx: TorchNeuronx | None = None,
    cache: CompileCache | None = None,
) -> nn.Module:
    """Compile or load every bucket, reporting ``Compiling`` then ``Compiled``."""

    def progress(stage: str, done: int, total: int) -> None:
        send(Compiling(index, stage, done, total))

    prepared = compile_buckets(
        model, info, spec, batches, progress, neuronx=neuronx, cache=cache, cpu_backend=False
    )
    send(Compiled(index, prepared.seconds, recompilations=0))
    return prepared.module
