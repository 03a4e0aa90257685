from __future__ import annotations

import json

from profilers.telemetry import (
    GpuSample,
    HostSample,
    LatencyPercentiles,
    NeuronCoreSample,
    NeuronSample,
    TelemetrySample,
)


def test_gpu_sample_defaults_are_not_available() -> None:
    gpu = GpuSample(index=3)
    figures = gpu.to_dict()
    assert figures.pop("index") == 3
    assert set(figures.values()) == {None}
    assert len(figures) == 13


def test_host_sample_to_dict() -> None:
    host = HostSample((10.0, 30.0), 20.0, 1024, 4096, {42: 512})
    assert host.to_dict() == {
        "cpu_percent_per_core": [10.0, 30.0],
        "cpu_percent": 20.0,
        "memory_used_bytes": 1024,
        "memory_total_bytes": 4096,
        "process_rss_bytes": {42: 512},
        "cpu_busy_s": None,
        "process_cpu_s": {},
        "own_cpu_s": None,
        "cpu_energy_uj": None,
    }


def test_telemetry_sample_to_dict_nests_and_serialises() -> None:
    neuron = NeuronSample(
        cores=(NeuronCoreSample(index=0, utilization_pct=50.0, tensors_bytes=8),),
        total_latency=LatencyPercentiles(p50=0.001),
        errors=("system_data.memory_info",),
    )
    sample = TelemetrySample(
        t=12.5,
        host=None,
        gpus=(GpuSample(index=0, power_w=100.5, process_memory_bytes={7: 9}),),
        neuron=neuron,
    )
    result = sample.to_dict()
    assert result["t"] == 12.5
    assert result["host"] is None
    assert result["gpus"][0]["power_w"] == 100.5
    assert result["gpus"][0]["process_memory_bytes"] == {7: 9}
    assert result["neuron"]["cores"][0]["utilization_pct"] == 50.0
    assert result["neuron"]["cores"][0]["tensors_bytes"] == 8
    assert result["neuron"]["total_latency"]["p50"] == 0.001
    assert result["neuron"]["device_latency"] is None
    assert result["neuron"]["errors"] == ["system_data.memory_info"]
    decoded = json.loads(json.dumps(result))
    assert decoded["gpus"][0]["process_memory_bytes"] == {"7": 9}
    assert decoded["neuron"]["cores"][0]["index"] == 0


def test_empty_telemetry_sample() -> None:
    assert TelemetrySample(t=1.0).to_dict() == {
        "t": 1.0,
        "host": None,
        "gpus": [],
        "neuron": None,
        "hpus": [],
    }
