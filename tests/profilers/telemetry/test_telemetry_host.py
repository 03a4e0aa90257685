from __future__ import annotations

import os
import subprocess
import sys
from collections import namedtuple
from pathlib import Path
from typing import Any

import psutil
import pytest

from profilers.telemetry import HostSampler

Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")


def _times(busy: float, idle: float, guest: float = 0.0) -> Times:
    # user carries the busy time; guest is part of user already and must not be counted twice
    return Times(busy, 0.0, 0.0, idle, 0.0, 0.0, 0.0, 0.0, guest, 0.0)


@pytest.mark.parametrize("proc_root", [Path("/proc"), None])
def test_samples_this_process_and_machine(proc_root: Path | None) -> None:
    pid = os.getpid()
    sampler = HostSampler([pid], proc_root=proc_root)
    if proc_root is None:
        assert not sampler.uses_procfs
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
    sampler = HostSampler(proc_root=None)
    assert not sampler.uses_procfs
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
    host = HostSampler(proc_root=None).sample()
    assert host.cpu_percent_per_core == ()
    assert host.cpu_percent is None
    assert host.memory_used_bytes is None
    assert host.memory_total_bytes is None
    assert host.process_rss_bytes == {}


@pytest.mark.parametrize("proc_root", [Path("/proc"), None])
def test_vanished_process_is_dropped(proc_root: Path | None) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        sampler = HostSampler(proc_root=proc_root)
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


@pytest.mark.parametrize("proc_root", [Path("/proc"), None])
def test_watching_a_pid_that_is_not_running(proc_root: Path | None) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    sampler = HostSampler([child.pid, os.getpid()], proc_root=proc_root)
    assert sampler.watched == frozenset({os.getpid()})
    assert sampler.vanished == frozenset({child.pid})
    assert set(sampler.sample().process_rss_bytes) == {os.getpid()}


def test_unwatch() -> None:
    sampler = HostSampler([os.getpid()])
    sampler.unwatch(os.getpid())
    assert sampler.watched == frozenset()
    assert sampler.sample().process_rss_bytes == {}


# --- the /proc fast path, on a fake procfs --------------------------------------------------

STAT = """cpu  {a} 0 0 {b} 0 0 0 0 0 0
cpu0 {c} 0 0 {d} 0 0 0 0 0 0
cpu1 0 0 0 {e} {f} 0 0 0 {g} 0
intr 12345 0 0
ctxt 999
"""


def _fake_proc(root: Path, cpu0: tuple[int, int], cpu1: tuple[int, int, int]) -> None:
    root.mkdir(exist_ok=True)
    busy, idle = cpu0
    idle1, iowait1, guest1 = cpu1
    (root / "stat").write_text(
        STAT.format(a=busy, b=idle + idle1, c=busy, d=idle, e=idle1, f=iowait1, g=guest1)
    )


def test_procfs_path(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    _fake_proc(proc, (100, 100), (200, 0, 0))
    (proc / "meminfo").write_text(
        "MemTotal:       16000 kB\nMemFree:         1000 kB\nMemAvailable:    4000 kB\n"
    )
    (proc / "4242").mkdir()
    (proc / "4242" / "statm").write_text("5000 300 100 10 0 200 0\n")
    sampler = HostSampler([4242, 4343], proc_root=proc)
    assert sampler.uses_procfs
    assert sampler.vanished == frozenset({4343})
    # cpu0: +30 busy of +40; cpu1: idle and iowait only (+10 each); guest must not count
    _fake_proc(proc, (130, 110), (210, 10, 500))
    host = sampler.sample()
    assert host.cpu_percent_per_core == (75.0, 0.0)
    assert host.cpu_percent == 37.5
    assert host.memory_total_bytes == 16000 * 1024
    assert host.memory_used_bytes == 12000 * 1024
    assert host.process_rss_bytes == {4242: 300 * os.sysconf("SC_PAGE_SIZE")}
    assert host.process_cpu_s == {}  # no /proc/4242/stat: CPU time unknown, not zero
    (proc / "4242" / "statm").write_text("")  # the process is gone
    host = sampler.sample()
    assert host.process_rss_bytes == {}
    assert host.cpu_percent_per_core == (75.0, 0.0)  # no time passed: last figure kept
    assert sampler.vanished == frozenset({4242, 4343})
    sampler.close()
    assert not sampler.uses_procfs


def test_procfs_cpu_seconds_of_host_and_watched_process(tmp_path: Path) -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    proc = tmp_path / "proc"
    _fake_proc(proc, (130, 110), (210, 10, 500))
    (proc / "meminfo").write_text("MemTotal: 16000 kB\nMemAvailable: 4000 kB\n")
    (proc / "77").mkdir()
    (proc / "77" / "statm").write_text("5000 300 100 10 0 200 0\n")
    # the command name may hold spaces and parentheses; utime 250 and stime 50 ticks follow it
    fields = ["S", "1", "1", "1", "0", "-1", "0", "0", "0", "0", "0", "250", "50"]
    (proc / "77" / "stat").write_text(f"77 (py (x) y) {' '.join(fields)} 0 0 20 0\n")
    host = HostSampler([77], proc_root=proc).sample()
    assert host.cpu_busy_s == pytest.approx((130 + 0) / ticks)  # cpu0 busy 130, cpu1 none
    assert host.process_cpu_s == {77: pytest.approx(300 / ticks)}
    assert host.own_cpu_s is not None and host.own_cpu_s > 0


def test_procfs_without_memavailable_falls_back_to_psutil(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    _fake_proc(proc, (1, 1), (1, 0, 0))
    (proc / "meminfo").write_text("MemTotal:       16000 kB\n")
    host = HostSampler(proc_root=proc).sample()
    assert host.memory_total_bytes == psutil.virtual_memory().total


def test_procfs_missing_falls_back_to_psutil(tmp_path: Path) -> None:
    sampler = HostSampler([os.getpid()], proc_root=tmp_path / "no-proc")
    assert not sampler.uses_procfs
    host = sampler.sample()
    assert len(host.cpu_percent_per_core) == psutil.cpu_count()
    assert os.getpid() in host.process_rss_bytes


def test_procfs_and_psutil_agree_on_this_machine() -> None:
    pid = os.getpid()
    fast = HostSampler([pid])
    slow = HostSampler([pid], proc_root=None)
    a, b = fast.sample(), slow.sample()
    assert len(a.cpu_percent_per_core) == len(b.cpu_percent_per_core)
    assert a.memory_total_bytes == b.memory_total_bytes
    assert abs(a.process_rss_bytes[pid] - b.process_rss_bytes[pid]) < 16 * 2**20
    fast.close()
