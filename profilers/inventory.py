"""What ``plmprof devices`` reports: CPU, CUDA GPUs (torch and NVML), Neuron devices, Gaudi cards
(bridge, HLML or hl-smi), instance.

torch is imported only when it is a CUDA build (to ask which GPUs it sees): on a CPU build the
whole report comes from files and NVML, in a fraction of a second.
"""

from __future__ import annotations

import os
from typing import Any

import psutil

from engines.detect import (
    cpu_name,
    cuda_devices,
    default_torch_threads,
    hpu_status,
    neuron_sdk,
    torch_build,
)
from profilers.cost import read_instance_type
from profilers.telemetry.gaudi import gaudi_source
from profilers.telemetry.neuron_ls import run_neuron_ls
from profilers.telemetry.nvml import NvmlSampler
from profilers.telemetry.readings import query


def device_inventory() -> dict[str, Any]:
    torch_version, torch_cuda = torch_build()
    visible = cuda_devices() if torch_cuda else []
    nvml = NvmlSampler()
    neuron_version, neuron_note = neuron_sdk()
    listing = run_neuron_ls()
    gaudi = gaudi_source()
    usable, bridge = hpu_status()
    inventory: dict[str, Any] = {
        "cpu": {
            "name": cpu_name(),
            "logical_cores": os.cpu_count(),
            "memory_bytes": psutil.virtual_memory().total,
            "torch_threads": default_torch_threads(),
        },
        "cuda": {
            "devices": visible,
            "torch": torch_version,
            "torch_cuda": torch_cuda,
            "note": (
                None
                if visible
                else "no CUDA device visible to torch"
                if torch_cuda
                else "none: torch is a CPU build"
            ),
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
        "gaudi": {
            "usable": usable,
            "bridge": bridge,
            "telemetry": gaudi.mode,
            "reason": gaudi.reason,
            "cards": [card.to_dict() for card in (query(gaudi.sample) or ())],
        },
        "instance_type": read_instance_type(),
    }
    nvml.close()
    gaudi.close()
    return inventory
