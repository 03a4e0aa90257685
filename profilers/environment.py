"""Where a run happened: host, CPU, accelerators, driver and library versions."""

from __future__ import annotations

import os
import platform
import socket
from importlib import metadata
from typing import Any

import psutil

from engines.detect import cpu_name
from profilers.cost import read_instance_type


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def describe_environment() -> dict[str, Any]:
    import torch

    gpus = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            gpus.append(
                {
                    "index": index,
                    "name": props.name,
                    "memory_bytes": props.total_memory,
                    "capability": f"{props.major}.{props.minor}",
                }
            )
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "instance_type": read_instance_type(),
        "gpus": gpus,
        "cuda_runtime": torch.version.cuda,
        "cuda_driver": _cuda_driver(),
        "plmprof": _version("plmprof"),
        "torch": torch.__version__,
        "transformers": _version("transformers"),
        "torch_neuronx": _version("torch-neuronx"),
    }


def _cuda_driver() -> str | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            driver = pynvml.nvmlSystemGetDriverVersion()
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # NVML missing or no driver: not available, never an error
        return None
    return driver.decode() if isinstance(driver, bytes) else str(driver)
