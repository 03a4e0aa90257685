"""Host CPU and memory, and the resident memory of watched processes.

CPU percentages are computed here from differences of cumulative CPU times between two calls,
so sampling never blocks and never shares psutil's module-wide ``cpu_percent`` state with
anything else in the process. The first ``sample()`` covers the time since construction.

On Linux the sampler keeps ``/proc/stat``, ``/proc/meminfo`` and each watched process's
``/proc/<pid>/statm`` open and re-reads them with one ``pread`` each: opening and closing the
files (what psutil does on every call) costs more than reading them, and it is what dominates
a sampler that runs ten times a second. An open ``statm`` also stays bound to the process it
was opened for, so a new process that reuses the pid is never reported under it. Elsewhere, or
when ``/proc`` cannot be read, psutil is used.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psutil

from profilers.telemetry.rapl import RaplReader
from profilers.telemetry.samples import HostSample

# /proc/stat per-CPU columns: user nice system idle iowait irq softirq steal guest guest_nice.
# guest and guest_nice are already counted in user and nice, so only the first 8 make the total.
_TOTAL_COLUMNS = 8
_IDLE_COLUMNS = (3, 4)  # idle, iowait
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# /proc/<pid>/stat after the ")" that ends the command name: utime and stime are fields 12, 13.
_UTIME, _STIME = 11, 12


def _busy_and_total_psutil(times: Any) -> tuple[float, float]:
    fields = times._asdict()
    total = sum(value for name, value in fields.items() if name not in ("guest", "guest_nice"))
    idle = fields.get("idle", 0.0) + fields.get("iowait", 0.0)
    return total - idle, total


def _busy_and_total_proc(stat: bytes) -> list[tuple[float, float]]:
    """(busy, total) CPU seconds of each core from /proc/stat."""
    result = []
    for line in stat.splitlines():
        if not (line.startswith(b"cpu") and line[3:4].isdigit()):
            continue
        columns = [float(value) / _TICKS for value in line.split()[1 : 1 + _TOTAL_COLUMNS]]
        total = sum(columns)
        idle = sum(columns[i] for i in _IDLE_COLUMNS if i < len(columns))
        result.append((total - idle, total))
    return result


def _process_cpu_s(stat: bytes) -> float:
    """User + system CPU seconds from a /proc/<pid>/stat line."""
    fields = stat.rpartition(b")")[2].split()
    return (int(fields[_UTIME]) + int(fields[_STIME])) / _TICKS


def _meminfo(text: bytes) -> tuple[int, int] | None:
    """(total, available) in bytes from /proc/meminfo, ``None`` when either is missing."""
    values: dict[bytes, int] = {}
    for line in text.splitlines():  # both are among the first lines: stop once they are read
        key, _, rest = line.partition(b":")
        if key in (b"MemTotal", b"MemAvailable"):
            values[key] = int(rest.split()[0]) * 1024
            if len(values) == 2:
                return values[b"MemTotal"], values[b"MemAvailable"]
    return None


class _ProcFile:
    """A /proc file kept open and re-read from the start on each ``read()``.

    ``size`` bounds one read: a large buffer costs more to allocate than the read itself.
    The per-CPU lines of /proc/stat come first, so a cut-off tail (interrupt counts) is harmless.
    """

    def __init__(self, path: Path, size: int = 4096) -> None:
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self.size = size

    def read(self) -> bytes:
        if self.fd < 0:
            raise OSError("closed")
        return os.pread(self.fd, self.size, 0)

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


def _open(path: Path, size: int = 4096) -> _ProcFile | None:
    try:
        return _ProcFile(path, size)
    except (OSError, AttributeError):
        return None


class HostSampler:
    """Reads host CPU use per core, host memory and the RSS of each watched pid.

    ``memory_used_bytes`` is total minus available. A watched process that has exited (or
    cannot be read) is left out of ``process_rss_bytes`` and stops being watched; its pid goes
    into ``vanished``. ``proc_root``: where procfs is mounted (``None``: use psutil only).
    ``rapl``: the CPU package energy reader read at each sample (``None``: no CPU energy).
    Call ``close()`` to release the open /proc files.
    """

    def __init__(
        self,
        pids: Iterable[int] = (),
        proc_root: Path | None = Path("/proc"),
        rapl: RaplReader | None = None,
    ) -> None:
        # One re-entrant lock held through each sample, so that no file is closed (and its
        # descriptor number reused) while another thread reads it.
        self._lock = threading.RLock()
        self._proc_root = proc_root
        self._stat: _ProcFile | None = None
        self._meminfo: _ProcFile | None = None
        if proc_root is not None and hasattr(os, "pread"):
            self._stat = _open(proc_root / "stat", 64 * 1024)
            self._meminfo = _open(proc_root / "meminfo", 16 * 1024)
        self._rapl = rapl
        self._statm: dict[int, _ProcFile] = {}
        self._pstat: dict[int, _ProcFile] = {}
        self._processes: dict[int, psutil.Process] = {}
        self._vanished: set[int] = set()
        self._last_times: list[tuple[float, float]] = self._read_times()
        self._last_per_core: tuple[float, ...] = tuple(0.0 for _ in self._last_times)
        for pid in pids:
            self.watch(pid)

    @property
    def uses_procfs(self) -> bool:
        """Whether CPU times are read from kept-open /proc files (else psutil)."""
        return self._stat is not None

    @property
    def watched(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._statm) | frozenset(self._processes)

    @property
    def vanished(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._vanished)

    def watch(self, pid: int) -> None:
        """Report this pid's RSS from the next sample on (a pid not running is noted as gone)."""
        with self._lock:
            if pid in self._statm or pid in self._processes:
                return
            self._vanished.discard(pid)
            if self._stat is not None and self._proc_root is not None:
                statm = _open(self._proc_root / str(pid) / "statm")
                pstat = _open(self._proc_root / str(pid) / "stat")
                if statm is not None:
                    self._statm[pid] = statm
                    if pstat is not None:
                        self._pstat[pid] = pstat
                else:
                    self._vanished.add(pid)
                return
            try:
                self._processes[pid] = psutil.Process(pid)
            except (psutil.Error, ValueError, OSError):
                self._vanished.add(pid)

    def unwatch(self, pid: int) -> None:
        with self._lock:
            files = [self._statm.pop(pid, None), self._pstat.pop(pid, None)]
            self._processes.pop(pid, None)
            self._vanished.discard(pid)
        for file in files:
            if file is not None:
                file.close()

    def sample(self) -> HostSample:
        with self._lock:
            per_core = self._cpu_per_core()
            total, used = self._memory()
            rss = self._rss()
            cpu = self._process_cpu()
            busy = sum(b for b, _ in self._last_times) if self._last_times else None
        return HostSample(
            cpu_percent_per_core=per_core,
            cpu_percent=sum(per_core) / len(per_core) if per_core else None,
            memory_used_bytes=used,
            memory_total_bytes=total,
            process_rss_bytes=rss,
            cpu_busy_s=busy,
            process_cpu_s=cpu,
            own_cpu_s=time.process_time(),
            cpu_energy_uj=None if self._rapl is None else self._rapl.read_uj(),
        )

    def close(self) -> None:
        """Release the kept-open /proc files; later samples use psutil."""
        with self._lock:
            files = [self._stat, self._meminfo, *self._statm.values(), *self._pstat.values()]
            self._stat = self._meminfo = None
            pids = list(self._statm)
            self._statm = {}
            self._pstat = {}
        for file in files:
            if file is not None:
                file.close()
        for pid in pids:
            self.watch(pid)

    def __del__(self) -> None:
        for file in [getattr(self, "_stat", None), getattr(self, "_meminfo", None)]:
            if file is not None:
                file.close()
        for file in [*getattr(self, "_statm", {}).values(), *getattr(self, "_pstat", {}).values()]:
            file.close()

    def _read_times(self) -> list[tuple[float, float]]:
        stat = self._stat
        if stat is not None:
            try:
                times = _busy_and_total_proc(stat.read())
                if times:
                    return times
            except (OSError, ValueError):
                pass
        try:
            return [_busy_and_total_psutil(t) for t in psutil.cpu_times(percpu=True)]
        except Exception:
            return []

    def _memory(self) -> tuple[int | None, int | None]:
        """(total, used) in bytes."""
        meminfo = self._meminfo
        if meminfo is not None:
            try:
                parsed = _meminfo(meminfo.read())
                if parsed is not None:
                    total, available = parsed
                    return total, total - available
            except (OSError, ValueError, IndexError):
                pass
        try:
            memory = psutil.virtual_memory()
            return int(memory.total), int(memory.total - memory.available)
        except Exception:
            return None, None

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
            pairs = zip(before, now, strict=True)
            for index, ((busy0, total0), (busy1, total1)) in enumerate(pairs):
                elapsed = total1 - total0
                if elapsed <= 0:  # called again within one clock tick: repeat the last figure
                    result.append(self._last_per_core[index])
                    continue
                result.append(min(100.0, max(0.0, 100.0 * (busy1 - busy0) / elapsed)))
            self._last_per_core = tuple(result)
            return self._last_per_core

    def _process_cpu(self) -> dict[int, float]:
        """Cumulative CPU seconds of each watched process that could be read."""
        result: dict[int, float] = {}
        for pid, file in list(self._pstat.items()):
            with contextlib.suppress(OSError, ValueError, IndexError):
                result[pid] = _process_cpu_s(file.read())
        for pid, process in list(self._processes.items()):
            with contextlib.suppress(psutil.Error, OSError):
                times = process.cpu_times()
                result[pid] = float(times.user + times.system)
        return result

    def _rss(self) -> dict[int, int]:
        with self._lock:
            files = list(self._statm.items())
            processes = list(self._processes.items())
        result: dict[int, int] = {}
        gone: list[int] = []
        for pid, file in files:
            try:
                result[pid] = int(file.read().split()[1]) * _PAGE_SIZE
            except (OSError, ValueError, IndexError):
                gone.append(pid)
        for pid, process in processes:
            try:
                result[pid] = int(process.memory_info().rss)
            except (psutil.Error, OSError):
                gone.append(pid)
        if gone:
            with self._lock:
                for pid in gone:
                    statm = self._statm.pop(pid, None)
                    pstat = self._pstat.pop(pid, None)
                    for kept in (statm, pstat):
                        if kept is not None:
                            kept.close()
                    if statm is not None or self._processes.pop(pid, None) is not None:
                        self._vanished.add(pid)
        return result
