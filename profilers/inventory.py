"""What ``plmprof devices`` reports: CPU, CUDA GPUs (torch and NVML), Neuron devices, instance."""

from __future__ import annotations

import os
from typing import Any

import psutil

from engines.backends.torch_device import cpu_name
from engines.detect import cuda_devices, neuron_sdk
from profilers.cost import read_instance_type
from profilers.telemetry.neuron_ls import run_neuron_ls
from profilers.telemetry.nvml import NvmlSampler


def device_inventory() -> dict[str, Any]:
    import torch

    nvml = NvmlSampler()
    neuron_version, neuron_note = neuron_sdk()
    listing = run_neuron_ls()
    inventory: dict[str, Any] = {
        "cpu": {
            "name": cpu_name(),
            "logical_cores": os.cpu_count(),
            "memory_bytes": psutil.virtual_memory().total,
            "torch_threads": torch.get_num_threads(),
        },
        "cuda": {
            "devices": cuda_devices(),
            "torch_cuda": torch.version.cuda,
            "note": None if cuda_devices() else "no CUDA device visible to torch",
        },
        "nvml": {
            "available": nvml.available,
            "reason": nvml.reason,
            "gpus": nvml.device_info(),
        },
        "neuron": {
            "torch_neuronx": neuron_version,
            "note": neuron_note,
            "neuron_ls": listing.status,
            "devices": [d.to_dict() for d in listing.devices or []],
        },
        "instance_type": read_instance_type(),
    }
    nvml.close()
    return inventory
