"""Trainium training through torch-neuronx's XLA path: the device, opened only on request."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from engines.errors import UnsupportedError

if TYPE_CHECKING:
    import torch


def check_xla() -> None:
    """Raise before a run when torch-xla is not importable here."""
    if importlib.util.find_spec("torch_xla") is None:
        raise UnsupportedError(
            "--device xla needs torch-xla (installed with torch-neuronx on a Trainium instance)"
        )


def open_xla() -> torch.device:
    """The XLA device (a NeuronCore under torch-neuronx)."""
    check_xla()
    import torch_xla.core.xla_model as xm

    device: torch.device = xm.xla_device()
    return device


def compile_stats() -> tuple[float, int] | None:
    """Seconds XLA spent compiling graphs so far and how many graphs it compiled (its
    ``CompileTime`` metric: count, total nanoseconds, samples), or None without torch-xla."""
    if importlib.util.find_spec("torch_xla") is None:
        return None
    import torch_xla.debug.metrics as metrics

    data = metrics.metric_data("CompileTime")
    if not data:
        return None
    return float(data[1]) / 1e9, int(data[0])
