"""Contention: other processes' CPU time and GPU use during the measured window, by hand."""

from __future__ import annotations

import pytest

from profilers.contention import contention
from profilers.labels import contention_label
from profilers.telemetry.samples import GpuSample, HostSample, TelemetrySample

WORKER = 4242


def _host(t: float, busy: float, own: float, worker: float, gpu_pids: tuple[int, ...] = ()):  # type: ignore[no-untyped-def]
    host = HostSample(
        (50.0, 50.0), 50.0, None, None, cpu_busy_s=busy, own_cpu_s=own,
        process_cpu_s={WORKER: worker},
    )  # fmt: skip
    gpus = (GpuSample(0, process_memory_bytes={p: 1 for p in gpu_pids}),) if gpu_pids else ()
    return TelemetrySample(t=t, host=host, gpus=gpus)


def test_a_quiet_host_is_not_contended() -> None:
    # 10 s on 2 cores: the worker used 9 s of CPU, the profiler 0.5 s, the host 9.7 s in all
    samples = [_host(0.0, 100.0, 1.0, 0.0), _host(10.0, 109.7, 1.5, 9.0)]
    section = contention(samples, 0.0, 10.0, {WORKER})
    assert section["contended"] is False
    assert section["cpu_others_cores"] == pytest.approx(0.02)
    assert section["cpu_others_share"] == pytest.approx(0.01)
    assert section["host_cores"] == 2
    assert contention_label(section) == "quiet: other processes used 0.02 cores (1% of the host)"


def test_other_processes_taking_cpu_flag_the_run() -> None:
    # the host was busy 19.5 of 20 core-seconds; the run used 5.5: others 14 s over 10 s
    samples = [_host(0.0, 0.0, 0.0, 0.0), _host(5.0, 9.0, 0.2, 2.5), _host(10.0, 19.5, 0.5, 5.0)]
    section = contention(samples, 0.0, 10.0, {WORKER})
    assert section["contended"] is True
    assert section["cpu_others_cores"] == pytest.approx(1.4)
    assert section["cpu_others_share"] == pytest.approx(0.7)
    assert "1.40 of 2 cores busy (70% of the host)" in section["why"]
    assert contention_label(section).startswith("CONTENDED: other processes kept 1.40")
    # only samples inside the window count: a busy second before it changes nothing
    earlier = [_host(-1.0, -50.0, 0.0, 0.0), *samples]
    assert contention(earlier, 0.0, 10.0, {WORKER})["cpu_others_cores"] == pytest.approx(1.4)


def test_another_process_on_the_runs_gpu_flags_the_run() -> None:
    samples = [_host(0.0, 0.0, 0.0, 0.0, (WORKER,)), _host(1.0, 1.0, 0.0, 1.0, (WORKER, 999))]
    section = contention(samples, 0.0, 1.0, {WORKER}, gpu_indices=[0])
    assert section["contended"] is True and section["gpu_other_pids"] == [999]
    assert contention(samples, 0.0, 1.0, {WORKER}, gpu_indices=[1])["contended"] is False


def test_too_few_samples_say_so() -> None:
    section = contention([_host(0.0, 0.0, 0.0, 0.0)], 0.0, 1.0, {WORKER})
    assert section["contended"] is None
    assert contention_label(section) == (
        "not measured: fewer than two host samples inside the measured window"
    )
