"""The hooks the worker loop (:mod:`engines.runner`) calls when its device is a Gaudi.

The worker process starts with ``PT_HPU_LAZY_MODE`` already set (:func:`.bridge.startup_env`,
applied by :mod:`engines.worker` before anything is imported). The runner then (1) opens an
:class:`~.device.HpuDevice` (:func:`open_hpu_worker`: the bridge is imported here), (2) builds and
optimises the model on it as on CUDA, (3) wraps it in HPU graphs when asked
(:func:`prepare_model`), compiles with ``hpu_backend`` when asked (:func:`compile_backend`), and
(4) counts graph compilations around warm-up and the measured loop (:func:`count_graphs`,
:func:`warm_graphs`, :func:`after_measure`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from torch import nn

from engines.backends.torch_device import TorchDevice
from engines.errors import UnsupportedError
from engines.messages import Compiled, Compiling, WorkerMessage
from engines.optimizations.compile import ModelInputs, distinct_shapes, shape_label
from engines.spec import RunSpec

from .bridge import LAZY_MODE_ENV, MODULE_ENV, import_bridge
from .checks import check_hpu_spec, hpu_notes, is_hpu_device
from .device import HpuDevice, torch_device
from .graphs import COMPILE_BACKEND, GraphCount, wrap_in_hpu_graph

Send = Callable[[WorkerMessage], None]

__all__ = [
    "after_measure",
    "check_hpu_spec",
    "compile_backend",
    "count_graphs",
    "is_hpu_device",
    "open_hpu_worker",
    "prepare_model",
    "warm_graphs",
    "worker_notes",
]


def open_hpu_worker(device: str, spec: RunSpec, env: Mapping[str, str] | None = None) -> HpuDevice:
    """Check the spec for Gaudi, import the bridge in the mode the worker started in, open it."""
    check_hpu_spec(spec)
    values = os.environ if env is None else env
    bridge = import_bridge(values)
    if bridge.lazy != (spec.hpu_mode == "lazy"):
        raise UnsupportedError(
            f"--hpu-mode {spec.hpu_mode}, but the worker's bridge runs in "
            f"{'lazy' if bridge.lazy else 'eager'} mode ({LAZY_MODE_ENV} was set otherwise)"
        )
    notes = (f"Gaudi bridge {bridge.version}", *hpu_notes(spec))
    return HpuDevice(torch_device(), bridge=bridge, card=values.get(MODULE_ENV), notes=notes)


def prepare_model(model: nn.Module, spec: RunSpec, device: TorchDevice) -> nn.Module:
    """The optimised model as it will be called: in HPU graphs when ``--hpu-graphs``."""
    if isinstance(device, HpuDevice) and spec.hpu_graphs:
        assert device.bridge is not None
        return wrap_in_hpu_graph(device.bridge, model)
    return model


def compile_backend(device: TorchDevice) -> str:
    """torch.compile's backend on this device: ``hpu_backend`` on Gaudi, else inductor."""
    return COMPILE_BACKEND if isinstance(device, HpuDevice) else "inductor"


def worker_notes(device: TorchDevice) -> tuple[str, ...]:
    """What a Gaudi worker adds to ``Loaded.notes`` (nothing on other devices)."""
    return device.notes if isinstance(device, HpuDevice) else ()


def count_graphs(device: TorchDevice, items: Sequence[ModelInputs]) -> GraphCount | None:
    """Start counting graph compilations (before warm-up); None off Gaudi."""
    if not isinstance(device, HpuDevice) or device.bridge is None:
        return None
    count = GraphCount(device.bridge, len(distinct_shapes(items)))
    count.before = count.read()
    return count


def warm_graphs(
    index: int,
    count: GraphCount | None,
    items: Sequence[ModelInputs],
    timed: Callable[[ModelInputs], tuple[float, float]],
    compiled: bool,
    send: Send,
) -> None:
    """Without torch.compile, the bridge compiles a graph the first time each shape runs: run
    every distinct shape once, timed as compile time (one execution included, never part of
    latency), sending ``Compiling`` per shape and ``Compiled`` with the graphs compiled. Under
    torch.compile the compile step has done this already; only the count is read."""
    if count is None:
        return
    if not compiled:
        shapes = distinct_shapes(items)
        seconds = 0.0
        for done, item in enumerate(shapes):
            send(Compiling(index, f"Gaudi graph for {shape_label(item)}", done, len(shapes)))
            start, end = timed(item)
            seconds += end - start
        send(Compiling(index, "compiled", len(shapes), len(shapes)))
    count.after_warmup = count.read()
    if not compiled:
        send(Compiled(index, seconds, count.warmup or 0))


def after_measure(count: GraphCount | None, device: TorchDevice, report: dict[str, Any]) -> None:
    """Read the count after the measured loop and put the Gaudi figures into ``report``."""
    if count is None or not isinstance(device, HpuDevice) or device.bridge is None:
        return
    count.after_measure = count.read()
    report["hpu"] = {
        "mode": "lazy" if device.bridge.lazy else "eager",
        "bridge": device.bridge.version,
        "memory_pool_bytes": device.pool_bytes(),
        "memory_pool_note": "memory_stats() Limit: the pool the bridge reserves at start-up, not "
        "comparable with CUDA's reserved memory",
        **count.report(),
    }
