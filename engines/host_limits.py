"""What one host can hold: the number of worker processes a run may start.

Every worker is a Python process with torch loaded and its own copy of the model. A run whose
workers cannot all fit in the memory available now is refused before any is started (a lower
bound is used, so nothing that might fit is refused); more CPU workers than cores is allowed but
flagged, since the workers then time each other's contention as much as the model.
"""

from __future__ import annotations

import os

import psutil

from engines.catalog import get_model_info
from engines.errors import InvalidInputError
from engines.spec import RunSpec

# Resident memory of a worker before its model, kept a floor: Python with torch 2.13 (CPU build)
# and transformers imported peaked at 389-390 MB here (ru_maxrss, 3 tries, Linux); CUDA and
# Neuron runtimes add more.
WORKER_BASE_MB = 250
_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2}


def worker_floor_mb(spec: RunSpec) -> int:
    """The least memory one worker needs: the runtime plus the weights in the run's dtype."""
    info = get_model_info(spec.model)
    weights = info.expected_params * _BYTES.get(spec.dtype, 4)
    return WORKER_BASE_MB + weights // 2**20


def check_host(
    spec: RunSpec, available_mb: int | None = None, cores: int | None = None
) -> list[str]:
    """Raise ``InvalidInputError`` when the workers cannot fit in the available memory; return
    warnings (more CPU workers than cores) for the run to carry."""
    workers = len(spec.worker_devices())
    if available_mb is None:
        available_mb = psutil.virtual_memory().available // 2**20
    need = workers * worker_floor_mb(spec)
    if need > available_mb:
        fit = available_mb // worker_floor_mb(spec)
        advice = f"use --workers {fit} or fewer" if fit else "use a smaller model"
        raise InvalidInputError(
            f"{workers} workers of {spec.model} need at least {need:,} MB "
            f"({worker_floor_mb(spec):,} MB each: runtime and weights) and {available_mb:,} MB "
            f"is available; {advice}"
        )
    cores = cores or os.cpu_count() or 1
    on_cpu = sum(device == "cpu" for device in spec.worker_devices())
    if on_cpu > cores:
        return [
            f"contention: {on_cpu} CPU workers on {cores} cores; the workers slow each other, so "
            "per-worker latency measures the sharing as much as the model"
        ]
    return []
