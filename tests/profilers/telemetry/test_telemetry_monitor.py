from __future__ import annotations

import itertools
import os
import time
from typing import Any

import pytest

from engines.errors import InvalidInputError
from profilers.telemetry import (
    GpuSample,
    HostSample,
    HostSampler,
    NeuronSample,
    NvmlSampler,
    TelemetryMonitor,
)


class FakeHost:
    def __init__(self) -> None:
        self.calls = 0
        self.closed = False

    def sample(self) -> HostSample:
        self.calls += 1
        return HostSample((float(self.calls),), float(self.calls), 1, 2, {})

    def close(self) -> None:
        self.closed = True


class FakeGpus:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def sample(self) -> tuple[GpuSample, ...]:
        self.calls += 1
        if self.fail:
            raise RuntimeError("boom")
        return (GpuSample(index=0, power_w=100.0),)


class FakeNeuron:
    def __init__(self) -> None:
        self.closed = False

    def sample(self) -> NeuronSample | None:
        return NeuronSample(instance_type="inf2.xlarge")

    def close(self) -> None:
        self.closed = True


def _wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


def test_samples_on_a_thread_and_stop_joins() -> None:
    host, gpus, neuron = FakeHost(), FakeGpus(), FakeNeuron()
    monitor = TelemetryMonitor(0.01, host=host, nvml=gpus, neuron=neuron)
    assert monitor.latest() is None
    monitor.start()
    assert monitor.running
    _wait_for(lambda: monitor.samples_taken >= 5)
    thread = monitor._thread
    monitor.stop()
    assert thread is not None and not thread.is_alive()
    assert not monitor.running
    taken = monitor.samples_taken
    time.sleep(0.05)
    assert monitor.samples_taken == taken  # nothing sampled after stop()
    history = monitor.history()
    assert len(history) == taken == host.calls
    assert all(a.t < b.t for a, b in itertools.pairwise(history))
    latest = monitor.latest()
    assert latest is history[-1]
    assert latest.host is not None and latest.host.cpu_percent == float(taken)
    assert latest.gpus == (GpuSample(index=0, power_w=100.0),)
    assert latest.neuron == NeuronSample(instance_type="inf2.xlarge")
    assert monitor.reasons() == {}
    assert not host.closed  # stop() keeps the sources open


def test_context_manager_closes_sources() -> None:
    host, neuron = FakeHost(), FakeNeuron()
    with TelemetryMonitor(0.01, host=host, neuron=neuron) as monitor:
        assert monitor.running
        _wait_for(lambda: monitor.samples_taken >= 2)
    assert not monitor.running
    assert host.closed and neuron.closed


def test_a_failing_source_does_not_kill_the_thread() -> None:
    host, gpus = FakeHost(), FakeGpus(fail=True)
    with TelemetryMonitor(0.01, host=host, nvml=gpus) as monitor:
        _wait_for(lambda: monitor.samples_taken >= 6)
        assert monitor.running
    assert gpus.calls == 3  # switched off after three failures in a row
    assert all(sample.gpus == () for sample in monitor.history())
    assert all(sample.host is not None for sample in monitor.history())
    assert monitor.reasons() == {
        "nvml": "nvml sampler failed: RuntimeError: boom (switched off after 3 failures in a row)"
    }


def test_a_source_that_recovers_stays_on() -> None:
    gpus = FakeGpus(fail=True)
    monitor = TelemetryMonitor(1.0, nvml=gpus)
    assert monitor.sample_now().gpus == ()
    assert monitor.sample_now().gpus == ()
    gpus.fail = False
    assert monitor.sample_now().gpus == (GpuSample(index=0, power_w=100.0),)
    gpus.fail = True
    for _ in range(2):
        monitor.sample_now()
    gpus.fail = False
    assert monitor.sample_now().gpus != ()  # the count restarted after the success
    assert monitor.reasons()["nvml"] == "nvml sampler failed: RuntimeError: boom"


def test_bounded_history_and_since() -> None:
    monitor = TelemetryMonitor(1.0, host=FakeHost(), history_size=3)
    samples = [monitor.sample_now() for _ in range(5)]
    assert monitor.history() == samples[2:]
    assert monitor.history(since=samples[3].t) == samples[3:]
    assert monitor.samples_taken == 5


def test_no_sources() -> None:
    sample = TelemetryMonitor(1.0).sample_now()
    assert sample.host is None and sample.gpus == () and sample.neuron is None


@pytest.mark.parametrize("interval", [0.0, -1.0, float("nan")])
def test_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(InvalidInputError):
        TelemetryMonitor(interval)


def test_for_this_machine() -> None:
    monitor = TelemetryMonitor.for_this_machine(0.5, pids=[os.getpid()])
    try:
        sample = monitor.sample_now()
        assert sample.host is not None
        assert os.getpid() in sample.host.process_rss_bytes
        if not NvmlSampler().available:
            assert sample.gpus == ()
    finally:
        monitor.close()


def test_sampling_cost_is_small() -> None:
    """Real host sampler (and NVML, unavailable or not) at 10 Hz: thread CPU well under 5 %."""
    monitor = TelemetryMonitor(0.1, host=HostSampler([os.getpid()]), nvml=NvmlSampler())
    began = time.monotonic()
    with monitor:
        time.sleep(1.0)
        _wait_for(lambda: monitor.samples_taken >= 8)
    wall = time.monotonic() - began
    assert 0.0 < monitor.cpu_time_s < 0.05 * wall
