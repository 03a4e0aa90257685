from __future__ import annotations

import os
import subprocess
import sys
from collections import namedtuple
from typing import Any

import psutil
import pytest

from profilers.telemetry import HostSampler

Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")


def _times(busy: float, idle: float, guest: float = 0.0) -> Times:
    # user carries the busy time; guest is part of user already and must not be counted twice
    return Times(busy, 0.0, 0.0, idle, 0.0, 0.0, 0.0, 0.0, guest, 0.0)


def test_samples_this_process_and_machine() -> None:
    pid = os.getpid()
    sampler = HostSampler([pid])
    host = sampler.sample()
    rss = psutil.Process(pid).memory_info().rss
    assert set(host.process_rss_bytes) == {pid}
    assert abs(host.process_rss_bytes[pid] - rss) < 64 * 2**20
    assert host.process_rss_bytes[pid] > 0
    assert len(host.cpu_percent_per_core) == psutil.cpu_count()
    assert all(0.0 <= value <= 100.0 for value in host.cpu_percent_per_core)
    assert host.cpu_percent == pytest.approx(
        sum(host.cpu_percent_per_core) / len(host.cpu_percent_per_core)
    )
    memory = psutil.virtual_memory()
    assert host.memory_total_bytes == memory.total
    assert host.memory_used_bytes is not None
    assert 0 < host.memory_used_bytes <= memory.total


def test_cpu_percent_from_time_differences(monkeypatch: pytest.MonkeyPatch) -> None:
    readings = iter(
        [
            [_times(10.0, 10.0), _times(0.0, 20.0)],
            [_times(60.0, 60.0, guest=40.0), _times(0.0, 120.0)],  # +50 busy / +100 total
            [_times(60.0, 60.0, guest=40.0), _times(0.0, 120.0)],  # no time passed
        ]
    )
    monkeypatch.setattr(psutil, "cpu_times", lambda percpu=False: next(readings))
    sampler = HostSampler()
    first = sampler.sample()
    assert first.cpu_percent_per_core == (50.0, 0.0)
    assert first.cpu_percent == 25.0
    repeated = sampler.sample()
    assert repeated.cpu_percent_per_core == (50.0, 0.0)


def test_unreadable_figures_are_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise OSError("no /proc")

    monkeypatch.setattr(psutil, "cpu_times", fail)
    monkeypatch.setattr(psutil, "virtual_memory", fail)
    host = HostSampler().sample()
    assert host.cpu_percent_per_core == ()
    assert host.cpu_percent is None
    assert host.memory_used_bytes is None
    assert host.memory_total_bytes is None
    assert host.process_rss_bytes == {}


def test_vanished_process_is_dropped() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        sampler = HostSampler()
        sampler.watch(child.pid)
        assert child.pid in sampler.sample().process_rss_bytes
    finally:
        child.kill()
        child.wait()
    host = sampler.sample()
    assert child.pid not in host.process_rss_bytes
    assert child.pid in sampler.vanished
    assert child.pid not in sampler.watched
    assert child.pid not in sampler.sample().process_rss_bytes


def test_watching_a_pid_that_is_not_running() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    sampler = HostSampler([child.pid, os.getpid()])
    assert sampler.watched == frozenset({os.getpid()})
    assert sampler.vanished == frozenset({child.pid})
    assert set(sampler.sample().process_rss_bytes) == {os.getpid()}


def test_unwatch() -> None:
    sampler = HostSampler([os.getpid()])
    sampler.unwatch(os.getpid())
    assert sampler.watched == frozenset()
    assert sampler.sample().process_rss_bytes == {}
