"""Whether other work shared the machine during the measured window, as pyperf warns of an
unstable system: CPU time that processes other than the run used, and GPU processes other than
the workers.

CPU: over the telemetry samples inside the measured window, the host's busy CPU time (all cores,
from /proc/stat) minus the CPU time of the workers and of the profiling process itself. Divided
by the sampled span it is the number of cores other processes kept busy on average; divided by
the host's cores, the share of the machine they took. A run is *contended* when that share is at
least ``CPU_SHARE`` (10%), or when a GPU the run used served another process (NVML's compute
processes) during the window. Processes the workers start themselves (compiler helpers) count as
other processes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from profilers.telemetry.samples import TelemetrySample

CPU_SHARE = 0.10
METHOD = (
    "host busy CPU time (/proc/stat) minus the workers' and the profiler's own, over the "
    "telemetry samples inside the measured window; other compute processes on the run's GPUs "
    "(NVML)"
)


def _cpu(
    samples: Sequence[TelemetrySample], start: float, end: float, ours: Collection[int]
) -> dict[str, Any]:
    inside = [
        s
        for s in samples
        if start <= s.t <= end
        and s.host is not None
        and s.host.cpu_busy_s is not None
        and s.host.own_cpu_s is not None
    ]
    if len(inside) < 2 or inside[-1].t <= inside[0].t:
        return {"reason": "fewer than two host samples inside the measured window"}
    first, last = inside[0].host, inside[-1].host
    assert first is not None and last is not None
    span = inside[-1].t - inside[0].t
    workers = sum(
        last.process_cpu_s[pid] - first.process_cpu_s[pid]
        for pid in ours
        if pid in first.process_cpu_s and pid in last.process_cpu_s
    )
    busy = (last.cpu_busy_s or 0.0) - (first.cpu_busy_s or 0.0)
    own = (last.own_cpu_s or 0.0) - (first.own_cpu_s or 0.0)
    others = max(0.0, busy - own - workers)
    cores = len(last.cpu_percent_per_core) or 1
    return {
        "cpu_others_cores": others / span,
        "cpu_others_share": others / span / cores,
        "cpu_ours_cores": (own + workers) / span,
        "host_cores": cores,
        "sampled_s": span,
    }


def _gpu_others(
    samples: Sequence[TelemetrySample],
    start: float,
    end: float,
    ours: Collection[int],
    gpu_indices: Collection[int],
) -> list[int]:
    found: set[int] = set()
    for sample in samples:
        if not start <= sample.t <= end:
            continue
        for gpu in sample.gpus:
            if gpu.index in gpu_indices and gpu.process_memory_bytes:
                found.update(pid for pid in gpu.process_memory_bytes if pid not in ours)
    return sorted(found)


def contention(
    samples: Sequence[TelemetrySample],
    start: float,
    end: float,
    ours: Collection[int],
    gpu_indices: Collection[int] = (),
) -> dict[str, Any]:
    """The Result's ``contention`` section for the window ``[start, end]``; ``ours`` are the pids
    of the run's own processes (workers and the profiler)."""
    cpu = _cpu(samples, start, end, ours)
    gpu_others = _gpu_others(samples, start, end, ours, gpu_indices)
    share = cpu.get("cpu_others_share")
    reasons = []
    if share is not None and share >= CPU_SHARE:
        reasons.append(
            f"other processes kept {cpu['cpu_others_cores']:.2f} of {cpu['host_cores']} cores "
            f"busy ({share:.0%} of the host) during the measured window"
        )
    if gpu_others:
        reasons.append(
            f"other processes used the run's GPU(s): pid {', '.join(map(str, gpu_others))}"
        )
    return {
        "contended": bool(reasons) if share is not None or gpu_others else None,
        "why": "; ".join(reasons) or None,
        **cpu,
        "gpu_other_pids": gpu_others,
        "cpu_share_threshold": CPU_SHARE,
        "method": METHOD,
    }
