"""Checks made before any worker starts: a run that cannot work fails here, clearly and fast."""

from __future__ import annotations

from engines.backends.neuron.checks import check_neuron_run
from engines.backends.torch_device import check_cuda
from engines.catalog import get_model_info
from engines.errors import UnsupportedError
from engines.inputs import PlannedWorkload, plan_workload
from engines.optimizations import check as check_optimizations
from engines.spec import RunSpec


def check_runnable(spec: RunSpec) -> PlannedWorkload:
    """Raise a ``PlmprofError`` for anything that cannot run; return the planned workload."""
    import torch

    info = get_model_info(spec.model)
    if spec.mode != "inference":
        raise UnsupportedError(f"mode '{spec.mode}' is planned but not implemented yet")
    for device in spec.worker_devices():
        family = device.partition(":")[0]
        if family == "cuda":
            check_cuda(torch.device(device), spec.dtype)
        elif family == "neuron":
            check_neuron_run(spec, device)
    check_optimizations(spec)
    return plan_workload(spec, info)
