"""What ``plmprof devices`` reports: CPU, CUDA GPUs (torch and NVML), Neuron devices, Gaudi cards
(bridge, HLML or hl-smi), instance.

No torch is imported: its build is read from its files, and on a CUDA build the GPUs it would see
come from NVML and ``CUDA_VISIBLE_DEVICES``. Only when NVML cannot be used is torch asked (the
report says why), which takes seconds.
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


def visible_cuda(nvml: NvmlSampler) -> tuple[list[str], list[int] | None, str | None]:
    """The GPUs a CUDA build of torch would see, as (``cuda:N`` names, their NVML indices, how
    they were found when not through NVML): NVML read with ``CUDA_VISIBLE_DEVICES``, else, with
    NVML's reason, torch itself."""
    indices = nvml.cuda_devices(os.environ.get("CUDA_VISIBLE_DEVICES"))
    if indices is not None:
        return [f"cuda:{n}" for n in range(len(indices))], indices, None
    return cuda_devices(), None, f"{nvml.reason}; asked torch instead"


def device_inventory() -> dict[str, Any]:
    torch_version, torch_cuda = torch_build()
    nvml = NvmlSampler()
    visible, indices, fallback = visible_cuda(nvml) if torch_cuda else ([], None, None)
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
            "nvml_indices": indices,
            "listed_by": fallback or ("NVML" if torch_cuda else None),
            "torch": torch_version,
            "torch_cuda": torch_cuda,
            "note": (
                None
                if visible
                else _none_visible(nvml)
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


def _none_visible(nvml: NvmlSampler) -> str:
    setting = os.environ.get("CUDA_VISIBLE_DEVICES")
    if setting is not None and nvml.available:
        return f"no CUDA device visible: CUDA_VISIBLE_DEVICES={setting!r} names none NVML found"
    return "no CUDA device visible to torch"
