"""Host CPU and memory, and the resident memory of watched processes, read with psutil.

CPU percentages are computed here from ``psutil.cpu_times(percpu=True)`` differences between
two calls, so this sampler neither blocks nor shares psutil's module-wide ``cpu_percent`` state
with anything else in the process. The first ``sample()`` covers the time since construction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import psutil

from profilers.telemetry.samples import HostSample

# Fields of psutil's cpu_times that count as not busy. guest and guest_nice are already included
# in user and nice on Linux, so they are left out of the total.
_IDLE_FIELDS = ("idle", "iowait")
_EXCLUDED_FIELDS = ("guest", "guest_nice")


def _busy_and_total(times: Any) -> tuple[float, float]:
    fields = times._asdict()
    total = sum(value for name, value in fields.items() if name not in _EXCLUDED_FIELDS)
    idle = sum(fields.get(name, 0.0) for name in _IDLE_FIELDS)
    return total - idle, total


class HostSampler:
    """Reads host CPU use per core, host memory and the RSS of each watched pid.

    A watched process that has exited (or cannot be read) is left out of ``process_rss_bytes``
    and stops being watched, so that a later process reusing its pid is never reported under it;
    its pid goes into ``vanished``.
    """

    def __init__(self, pids: Iterable[int] = ()) -> None:
        self._lock = threading.Lock()
        self._processes: dict[int, psutil.Process] = {}
        self._vanished: set[int] = set()
        self._last_times: list[tuple[float, float]] = self._read_times()
        self._last_per_core: tuple[float, ...] = tuple(0.0 for _ in self._last_times)
        for pid in pids:
            self.watch(pid)

    @property
    def watched(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._processes)

    @property
    def vanished(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._vanished)

    def watch(self, pid: int) -> None:
        """Report this pid's RSS from the next sample on (a pid not running is noted as gone)."""
        with self._lock:
            if pid in self._processes:
                return
            self._vanished.discard(pid)
            try:
                self._processes[pid] = psutil.Process(pid)
            except (psutil.Error, ValueError, OSError):
                self._vanished.add(pid)

    def unwatch(self, pid: int) -> None:
        with self._lock:
            self._processes.pop(pid, None)
            self._vanished.discard(pid)

    def sample(self) -> HostSample:
        per_core = self._cpu_per_core()
        cpu_percent = sum(per_core) / len(per_core) if per_core else None
        used: int | None
        total: int | None
        try:
            memory = psutil.virtual_memory()
            total = int(memory.total)
            used = int(memory.total - memory.available)
        except Exception:
            used = total = None
        return HostSample(
            cpu_percent_per_core=per_core,
            cpu_percent=cpu_percent,
            memory_used_bytes=used,
            memory_total_bytes=total,
            process_rss_bytes=self._rss(),
        )

    @staticmethod
    def _read_times() -> list[tuple[float, float]]:
        try:
            return [_busy_and_total(times) for times in psutil.cpu_times(percpu=True)]
        except Exception:
            return []

    def _cpu_per_core(self) -> tuple[float, ...]:
        now = self._read_times()
        with self._lock:
            before, self._last_times = self._last_times, now
            if not now:
                return ()
            if len(before) != len(now):  # a core went on- or offline: no interval to compare
                self._last_per_core = tuple(0.0 for _ in now)
                return self._last_per_core
            result = []
            for index, ((busy0, total0), (busy1, total1)) in enumerate(
                zip(before, now, strict=True)
            ):
                elapsed = total1 - total0
                if elapsed <= 0:  # called again within one clock tick: repeat the last figure
                    result.append(self._last_per_core[index])
                    continue
                result.append(min(100.0, max(0.0, 100.0 * (busy1 - busy0) / elapsed)))
            self._last_per_core = tuple(result)
            return self._last_per_core

    def _rss(self) -> dict[int, int]:
        with self._lock:
            processes = list(self._processes.items())
        result: dict[int, int] = {}
        gone: list[int] = []
        for pid, process in processes:
            try:
                result[pid] = int(process.memory_info().rss)
            except (psutil.Error, OSError):
                gone.append(pid)
        if gone:
            with self._lock:
                for pid in gone:
                    if self._processes.pop(pid, None) is not None:
                        self._vanished.add(pid)
        return result
