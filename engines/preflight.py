"""Checks made before any worker starts: a run that cannot work fails here, clearly and fast."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engines.catalog import get_model_info
from engines.spec import RunSpec
from engines.training.xla import check_xla
from engines.weights import check_weights

if TYPE_CHECKING:
    from engines.inputs import PlannedWorkload


def check_runnable(spec: RunSpec, *, devices: bool = True) -> PlannedWorkload:
    """Raise a ``PlmprofError`` for anything that cannot run; return the planned workload.

    The device and optimization checks load torch, so they are imported here, after the workload
    is planned: importing this module (as every command that may run does) and rejecting a bad
    workload stay cheap. ``devices=False`` leaves out the checks of this host's devices: for a
    point that runs on another host (a cluster node), which checks them itself before it starts.
    """
    from engines.inputs import plan_workload

    info = get_model_info(spec.model)
    planned = plan_workload(spec, info)  # the user's workload first: a missing FASTA needs no torch
    if spec.mode == "training":
        from engines.training.checks import check_training

        check_training(spec, info)

    import torch

    from engines.backends.hpu.checks import check_hpu_run
    from engines.backends.neuron.checks import check_neuron_run
    from engines.backends.torch_device import check_cuda
    from engines.optimizations import check as check_optimizations

    for device in spec.worker_devices() if devices else ():
        family = device.partition(":")[0]
        if family == "cuda":
            check_cuda(torch.device(device), spec.dtype)
        elif family == "xla":
            check_xla()
        elif family == "neuron":
            check_neuron_run(spec, device)
        elif family == "hpu":
            check_hpu_run(spec, device)
    check_optimizations(spec)
    if devices:  # the weights are files of this host, like its devices
        check_weights(info, spec.weights)
    return planned
