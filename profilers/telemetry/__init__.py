"""Live device telemetry beside model runs: host (psutil), NVIDIA (NVML), AWS Neuron
(neuron-monitor, neuron-ls) and CPU package energy (RAPL), sampled on one background thread.

A figure that cannot be read is ``None`` ("not available"); samplers report why a whole source
is unavailable through ``available`` and ``reason`` instead of raising.
"""

from profilers.telemetry.energy import Energy, energy_between
from profilers.telemetry.host import HostSampler
from profilers.telemetry.monitor import TelemetryMonitor
from profilers.telemetry.neuron_ls import (
    NeuronDevice,
    NeuronProcess,
    parse_neuron_ls,
    run_neuron_ls,
)
from profilers.telemetry.neuron_monitor import NeuronMonitorSampler
from profilers.telemetry.neuron_report import (
    MONITOR_CONFIG,
    config_for_period,
    decode_line,
    parse_report,
)
from profilers.telemetry.nvml import NvmlSampler
from profilers.telemetry.rapl import RaplReader
from profilers.telemetry.samples import (
    GpuSample,
    HostSample,
    LatencyPercentiles,
    NeuronCoreSample,
    NeuronSample,
    TelemetrySample,
)

__all__ = [
    "MONITOR_CONFIG",
    "Energy",
    "GpuSample",
    "HostSample",
    "HostSampler",
    "LatencyPercentiles",
    "NeuronCoreSample",
    "NeuronDevice",
    "NeuronMonitorSampler",
    "NeuronProcess",
    "NeuronSample",
    "NvmlSampler",
    "RaplReader",
    "TelemetryMonitor",
    "TelemetrySample",
    "config_for_period",
    "decode_line",
    "energy_between",
    "parse_neuron_ls",
    "parse_report",
    "run_neuron_ls",
]
