"""One background thread that samples every telemetry source (host, NVIDIA, Neuron, Gaudi) at a
fixed interval.

The monitor keeps the latest ``TelemetrySample`` and a bounded history. A source that raises is
``None`` (or no GPUs) in that sample and the error is kept in ``reasons``; after
``MAX_FAILURES`` failures in a row the source is switched off for the rest of the run. The
monitor owns the samplers given to it: ``close()`` (and leaving the ``with`` block) also closes
them (stops neuron-monitor, shuts NVML down).
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Protocol

from engines.errors import InvalidInputError
from profilers.telemetry.gaudi import gaudi_source
from profilers.telemetry.host import HostSampler
from profilers.telemetry.neuron_monitor import NeuronMonitorSampler
from profilers.telemetry.nvml import NvmlSampler
from profilers.telemetry.samples import (
    GpuSample,
    HostSample,
    HpuSample,
    NeuronSample,
    TelemetrySample,
)

MAX_FAILURES = 3
DEFAULT_HISTORY = 7200


class HostSource(Protocol):
    def sample(self) -> HostSample: ...


class GpuSource(Protocol):
    def sample(self) -> tuple[GpuSample, ...]: ...


class NeuronSource(Protocol):
    def sample(self) -> NeuronSample | None: ...


class HpuSource(Protocol):
    def sample(self) -> tuple[HpuSample, ...]: ...


class TelemetryMonitor:
    """Samples host, NVIDIA and Neuron sources on one daemon thread every ``interval_s``.

    A source given as ``None`` is not sampled. ``history_size`` bounds the history (7200 samples
    is an hour at 0.5 s). ``cpu_time_s`` is the CPU time the sampling thread has used, for
    reporting the monitor's own cost.
    """

    def __init__(
        self,
        interval_s: float = 0.5,
        host: HostSource | None = None,
        nvml: GpuSource | None = None,
        neuron: NeuronSource | None = None,
        history_size: int = DEFAULT_HISTORY,
        hpu: HpuSource | None = None,
    ) -> None:
        if not interval_s > 0:
            raise InvalidInputError(f"telemetry interval must be positive, got {interval_s}")
        self.interval_s = interval_s
        self._host = host
        self._nvml = nvml
        self._neuron = neuron
        self._hpu = hpu
        self._owned: tuple[object, ...] = tuple(
            s for s in (host, nvml, neuron, hpu) if s is not None
        )
        self._failures = {"host": 0, "nvml": 0, "neuron": 0, "hpu": 0}
        self._reasons: dict[str, str] = {}
        self._lock = threading.Lock()
        self._sample_lock = threading.Lock()
        self._history: deque[TelemetrySample] = deque(maxlen=max(1, history_size))
        self._latest: TelemetrySample | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cpu_time_s = 0.0
        self._samples_taken = 0

    @classmethod
    def for_this_machine(
        cls, interval_s: float = 0.5, pids: Iterable[int] = ()
    ) -> TelemetryMonitor:
        """Host always; NVML when it initialises; neuron-monitor when it is on PATH; Gaudi cards
        through HLML or hl-smi when either works."""
        nvml = NvmlSampler()
        if not nvml.available:
            nvml.close()
        neuron = NeuronMonitorSampler() if shutil.which("neuron-monitor") else None
        gaudi = gaudi_source()
        return cls(
            interval_s,
            host=HostSampler(pids),
            nvml=nvml if nvml.available else None,
            neuron=neuron,
            hpu=gaudi if gaudi.available else None,
        )

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def cpu_time_s(self) -> float:
        with self._lock:
            return self._cpu_time_s

    @property
    def samples_taken(self) -> int:
        with self._lock:
            return self._samples_taken

    def reasons(self) -> dict[str, str]:
        """Source name ("host", "nvml", "neuron", "hpu") -> the last error it raised."""
        with self._lock:
            return dict(self._reasons)

    def latest(self) -> TelemetrySample | None:
        with self._lock:
            return self._latest

    def history(self, since: float | None = None) -> list[TelemetrySample]:
        """Samples in time order; only those with ``t >= since`` when given."""
        with self._lock:
            samples = list(self._history)
        if since is None:
            return samples
        return [sample for sample in samples if sample.t >= since]

    def note(self, name: str, reason: str) -> None:
        """Record why a source is not sampled at all (it then shows in ``reasons()``)."""
        with self._lock:
            self._reasons[name] = reason

    def _failed(self, name: str, error: Exception) -> bool:
        """Note a source's failure; ``True`` when it is now to be switched off."""
        with self._lock:
            self._failures[name] += 1
            self._reasons[name] = f"{name} sampler failed: {type(error).__name__}: {error}"
            if self._failures[name] < MAX_FAILURES:
                return False
            self._reasons[name] += f" (switched off after {MAX_FAILURES} failures in a row)"
            return True

    def _succeeded(self, name: str) -> None:
        with self._lock:
            self._failures[name] = 0

    def _sample_host(self) -> HostSample | None:
        if self._host is None:
            return None
        try:
            value = self._host.sample()
        except Exception as error:
            if self._failed("host", error):
                self._host = None
            return None
        self._succeeded("host")
        return value if isinstance(value, HostSample) else None

    def _sample_gpus(self) -> tuple[GpuSample, ...]:
        if self._nvml is None:
            return ()
        try:
            value = self._nvml.sample()
        except Exception as error:
            if self._failed("nvml", error):
                self._nvml = None
            return ()
        self._succeeded("nvml")
        return tuple(gpu for gpu in value if isinstance(gpu, GpuSample))

    def _sample_neuron(self) -> NeuronSample | None:
        if self._neuron is None:
            return None
        try:
            value = self._neuron.sample()
        except Exception as error:
            if self._failed("neuron", error):
                self._neuron = None
            return None
        self._succeeded("neuron")
        return value if isinstance(value, NeuronSample) else None

    def _sample_hpus(self) -> tuple[HpuSample, ...]:
        if self._hpu is None:
            return ()
        try:
            value = self._hpu.sample()
        except Exception as error:
            if self._failed("hpu", error):
                self._hpu = None
            return ()
        self._succeeded("hpu")
        return tuple(card for card in value if isinstance(card, HpuSample))

    def sample_now(self) -> TelemetrySample:
        """Take one sample at once (from any thread), record it and return it."""
        with self._sample_lock:
            # GPUs and Gaudi cards first, right after the timestamp: their energy counters are the
            # figures whose timing matters most (energy.py pairs them with ``t``).
            t = time.monotonic()
            gpus = self._sample_gpus()
            hpus = self._sample_hpus()
            host = self._sample_host()
            neuron = self._sample_neuron()
            sample = TelemetrySample(t=t, host=host, gpus=gpus, neuron=neuron, hpus=hpus)
            with self._lock:
                self._latest = sample
                self._history.append(sample)
                self._samples_taken += 1
            return sample

    def _run(self) -> None:
        deadline = time.monotonic()
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.sample_now()
            cpu = time.thread_time()
            with self._lock:
                self._cpu_time_s = cpu
            deadline += self.interval_s
            now = time.monotonic()
            if deadline < now:  # fell behind (a slow source): keep the pace from here on
                deadline = now
            self._stop.wait(deadline - now)

    def start(self) -> TelemetryMonitor:
        """Start the sampling thread (no-op when running)."""
        if self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="plmprof-telemetry", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float | None = 5.0) -> None:
        """Stop the sampling thread and wait for it to end; the history is kept."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    def close(self) -> None:
        """``stop()``, then close every source that has a ``close()``."""
        self.stop()
        for source in self._owned:
            close = getattr(source, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    close()

    def __enter__(self) -> TelemetryMonitor:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
