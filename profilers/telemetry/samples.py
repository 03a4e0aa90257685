"""Frozen records of one telemetry reading: host, NVIDIA GPUs, AWS Neuron, Intel Gaudi, and all of
them together.

Every figure that could not be read is ``None`` ("not available"), never a made-up zero.
``to_dict()`` gives plain JSON-ready values (tuples become lists, nested records become dicts).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively, so that the result serialises to JSON as it reads."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


@dataclass(frozen=True)
class HostSample:
    """CPU and memory of the host, and the resident memory of the watched processes.

    ``memory_used_bytes`` is total minus available (what the system could not hand out at once),
    not psutil's narrower ``used``. A watched process that could not be read is absent from
    ``process_rss_bytes`` and ``process_cpu_s``.

    Cumulative counters, for differences between two samples: ``cpu_busy_s`` is the CPU time
    every process on the host has used (all cores, since boot); ``process_cpu_s`` the user+system
    CPU time of each watched process; ``own_cpu_s`` that of the sampling process itself;
    ``cpu_energy_uj`` the CPU package energy (RAPL), kept free of counter wraps by the reader.
    """

    cpu_percent_per_core: tuple[float, ...]
    cpu_percent: float | None
    memory_used_bytes: int | None
    memory_total_bytes: int | None
    process_rss_bytes: dict[int, int] = field(default_factory=dict)
    cpu_busy_s: float | None = None
    process_cpu_s: dict[int, float] = field(default_factory=dict)
    own_cpu_s: float | None = None
    cpu_energy_uj: int | None = None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _plain(asdict(self))
        return result


@dataclass(frozen=True)
class GpuSample:
    """One NVIDIA GPU as NVML reports it; each figure is ``None`` where its query failed.

    ``energy_mj`` is NVML's total-energy counter (millijoules since the driver loaded);
    ``process_memory_bytes`` maps pid to used GPU memory, ``None`` when the query failed.
    """

    index: int
    name: str | None = None
    uuid: str | None = None
    utilization_pct: float | None = None
    memory_utilization_pct: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    temperature_c: float | None = None
    sm_clock_mhz: int | None = None
    memory_clock_mhz: int | None = None
    energy_mj: int | None = None
    process_memory_bytes: dict[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _plain(asdict(self))
        return result


@dataclass(frozen=True)
class HpuSample:
    """One Intel Gaudi card, from HLML (pyhlml) or ``hl-smi``; a figure is ``None`` where its
    query failed or the source does not give it.

    ``index`` is the source's card index; ``module_id`` the module id the bridge's
    ``HLS_MODULE_ID`` names (a run's ``hpu:N``). ``energy_mj`` is HLML's total-energy counter
    (millijoules since the driver loaded); hl-smi has none. ``source`` is "hlml" or "hl-smi".
    """

    index: int
    module_id: int | None = None
    name: str | None = None
    uuid: str | None = None
    utilization_pct: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    power_w: float | None = None
    temperature_c: float | None = None
    energy_mj: int | None = None
    source: str = "hlml"

    @property
    def module(self) -> int:
        """The card's module id, or its index where the source did not give one."""
        return self.index if self.module_id is None else self.module_id

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _plain(asdict(self))
        return result


@dataclass(frozen=True)
class NeuronCoreSample:
    """One NeuronCore, combined over every runtime that reported it.

    ``flops`` is what neuron-monitor calls ``flops`` or ``effective_flops``: operations executed
    in the report period (the documentation does not settle the unit). The memory figures are
    device memory in bytes; ``memory_total_bytes`` is the sum of the parts that were reported.
    """

    index: int
    utilization_pct: float | None = None
    flops: float | None = None
    constants_bytes: int | None = None
    model_code_bytes: int | None = None
    model_shared_scratchpad_bytes: int | None = None
    runtime_memory_bytes: int | None = None
    tensors_bytes: int | None = None
    memory_total_bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _plain(asdict(self))
        return result


@dataclass(frozen=True)
class LatencyPercentiles:
    """Latency percentiles of one neuron-monitor period, in seconds."""

    p0: float | None = None
    p1: float | None = None
    p25: float | None = None
    p50: float | None = None
    p75: float | None = None
    p99: float | None = None
    p100: float | None = None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _plain(asdict(self))
        return result


@dataclass(frozen=True)
class NeuronSample:
    """One neuron-monitor report, runtimes combined (see ``neuron_monitor.parse_report``).

    Runtime figures (memory, vCPU, executions) are sums over the runtimes that reported them.
    Latency percentiles cannot be merged across processes: they come from the runtime that
    completed the most executions in the period, and are ``None`` when nothing ran.
    ``errors`` names each group that carried an error string and therefore gave no data.
    """

    cores: tuple[NeuronCoreSample, ...] = ()
    runtime_pids: tuple[int, ...] = ()
    period_s: float | None = None
    runtime_host_memory_bytes: int | None = None
    runtime_device_memory_bytes: int | None = None
    host_application_memory_bytes: int | None = None
    host_constants_bytes: int | None = None
    host_dma_buffers_bytes: int | None = None
    host_tensors_bytes: int | None = None
    runtime_vcpu_user_pct: float | None = None
    runtime_vcpu_system_pct: float | None = None
    executions_completed: int | None = None
    executions_failed: int | None = None
    execution_errors: int | None = None
    total_latency: LatencyPercentiles | None = None
    device_latency: LatencyPercentiles | None = None
    instance_type: str | None = None
    device_type: str | None = None
    device_version: str | None = None
    neuroncore_version: str | None = None
    device_count: int | None = None
    device_memory_bytes: int | None = None
    cores_per_device: int | None = None
    system_memory_total_bytes: int | None = None
    system_memory_used_bytes: int | None = None
    system_vcpu_user_pct: float | None = None
    system_vcpu_system_pct: float | None = None
    ecc_uncorrected: int | None = None
    errors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _plain(asdict(self))
        return result


@dataclass(frozen=True)
class TelemetrySample:
    """Everything read at one instant ``t`` (``time.monotonic()`` seconds).

    A source that is switched off or failed this time is ``None`` (host, neuron) or empty (gpus,
    hpus).
    """

    t: float
    host: HostSample | None = None
    gpus: tuple[GpuSample, ...] = ()
    neuron: NeuronSample | None = None
    hpus: tuple[HpuSample, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "host": None if self.host is None else self.host.to_dict(),
            "gpus": [gpu.to_dict() for gpu in self.gpus],
            "neuron": None if self.neuron is None else self.neuron.to_dict(),
            "hpus": [hpu.to_dict() for hpu in self.hpus],
        }
