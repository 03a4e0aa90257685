"""The data side of ``plmprof top``: a standalone device monitor, no model run.

``TopMonitor`` builds the same samplers a run uses (psutil host, NVML, neuron-monitor, HLML or
hl-smi for Gaudi, or recorded neuron-monitor / hl-smi files played back) and hands out
``TopSnapshot``s: one
``TelemetrySample`` plus, for each source, whether it is available and, when it is not, why
("NVML not available: …", "neuron-monitor not found on PATH"). Nothing here prints.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from engines.errors import InvalidInputError
from profilers.telemetry.gaudi import GaudiSource, gaudi_source
from profilers.telemetry.host import HostSampler
from profilers.telemetry.monitor import TelemetryMonitor
from profilers.telemetry.neuron_monitor import NeuronMonitorSampler
from profilers.telemetry.nvml import NvmlSampler
from profilers.telemetry.samples import TelemetrySample

SOURCES = ("host", "nvml", "neuron", "hpu")
DEFAULT_INTERVAL_S = 0.5
MIN_INTERVAL_S = 0.05
# neuron-monitor's documented periods are whole seconds; it is not asked for less than this.
NEURON_MIN_PERIOD_S = 1.0
# How long ``first_snapshot`` waits for a live neuron-monitor's first report.
NEURON_FIRST_REPORT_WAIT_S = 3.0


@dataclass(frozen=True)
class SourceState:
    """Whether one telemetry source gave data, and why not when it did not.

    ``mode`` is "live" or "replay" for the Neuron source, "hlml", "hl-smi" or "replay" for the
    Gaudi one (``replay_file`` names a replayed file), and ``None`` for the others. A source can
    be available with a ``reason`` too: a note such as "some GPUs not readable: …".
    """

    available: bool
    reason: str | None = None
    mode: str | None = None
    replay_file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "available": self.available,
            "reason": self.reason,
            "mode": self.mode,
            "replay_file": self.replay_file,
        }


@dataclass(frozen=True)
class TopSnapshot:
    """One refresh of ``plmprof top``: the sample, each source's state, and process names.

    ``process_names`` maps the pids seen in the sample (GPU processes, Neuron runtimes) to their
    command names, where they could be read.
    """

    sample: TelemetrySample
    sources: dict[str, SourceState]
    interval_s: float
    process_names: dict[int, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``TelemetrySample.to_dict()`` plus ``sources``, ``interval_s`` and ``process_names``."""
        data = self.sample.to_dict()
        data["sources"] = {name: state.to_dict() for name, state in self.sources.items()}
        data["interval_s"] = self.interval_s
        data["process_names"] = {str(pid): name for pid, name in self.process_names.items()}
        return data


def sample_pids(sample: TelemetrySample, neuron: bool = True) -> set[int]:
    """Pids the sample names: processes on each GPU and (``neuron``) the Neuron runtimes."""
    pids: set[int] = set()
    for gpu in sample.gpus:
        pids.update(gpu.process_memory_bytes or {})
    if neuron and sample.neuron is not None:
        pids.update(sample.neuron.runtime_pids)
    return pids


class _ProcessNames:
    """pid -> command name through psutil, remembered while the pid keeps showing up."""

    def __init__(self) -> None:
        self._known: dict[int, str | None] = {}

    def lookup(self, pids: Iterable[int]) -> dict[int, str]:
        wanted = set(pids)
        self._known = {pid: name for pid, name in self._known.items() if pid in wanted}
        for pid in wanted - set(self._known):
            try:
                self._known[pid] = psutil.Process(pid).name()
            except (psutil.Error, OSError, ValueError):
                self._known[pid] = None
        return {pid: name for pid, name in sorted(self._known.items()) if name is not None}


class TopMonitor:
    """Samples the host, every NVIDIA GPU NVML sees, the Neuron devices and the Gaudi cards (HLML,
    else hl-smi), on demand.

    ``neuron_replay``: a recorded neuron-monitor JSON-lines file to play back (looping) instead
    of running the tool; ``hl_smi_replay``: a recorded hl-smi CSV file, likewise. A missing,
    unreadable or empty file raises ``InvalidInputError``. ``nvml``, ``gaudi`` and
    ``neuron_executable`` exist for tests. ``close()`` (or leaving the ``with`` block) stops
    neuron-monitor and shuts NVML and HLML down.
    """

    def __init__(
        self,
        interval_s: float = DEFAULT_INTERVAL_S,
        *,
        neuron_replay: str | os.PathLike[str] | None = None,
        nvml: NvmlSampler | None = None,
        neuron_executable: str = "neuron-monitor",
        hl_smi_replay: str | os.PathLike[str] | None = None,
        gaudi: GaudiSource | None = None,
    ) -> None:
        if not MIN_INTERVAL_S <= interval_s < math.inf:  # also refuses NaN
            raise InvalidInputError(
                f"--interval must be at least {MIN_INTERVAL_S} s and finite (got {interval_s})"
            )
        self.interval_s = float(interval_s)
        self._replay_file = None if neuron_replay is None else str(neuron_replay)
        self._neuron = self._open_neuron(neuron_executable)
        self._hl_smi_file = None if hl_smi_replay is None else str(hl_smi_replay)
        self._gaudi = gaudi if gaudi is not None else gaudi_source(self._hl_smi_file)
        self._nvml = nvml if nvml is not None else NvmlSampler()
        self._nvml_reason = self._nvml.reason
        nvml_on = self._nvml.available
        if not nvml_on:
            self._nvml.close()
        self._neuron_on = self._neuron.available
        if self._neuron_on and not self._neuron.is_replay:
            self._neuron.start()  # reports begin to arrive while the first interval passes
        self._names = _ProcessNames()
        self.monitor = TelemetryMonitor(
            self.interval_s,
            host=HostSampler(),
            nvml=self._nvml if nvml_on else None,
            neuron=self._neuron if self._neuron_on else None,
            history_size=1,
            hpu=self._gaudi if self._gaudi.available else None,
        )
        self._opened = time.monotonic()

    def _open_neuron(self, executable: str) -> NeuronMonitorSampler:
        if self._replay_file is None:
            period = max(NEURON_MIN_PERIOD_S, self.interval_s)
            return NeuronMonitorSampler(period_s=period, executable=executable)
        path = Path(self._replay_file)
        if not path.is_file():
            what = "is a directory" if path.is_dir() else "does not exist"
            raise InvalidInputError(f"neuron-monitor replay file '{path}' {what}")
        sampler = NeuronMonitorSampler.replay(path, cycle=True)
        if not sampler.available:
            raise InvalidInputError(sampler.reason or f"cannot replay '{path}'")
        return sampler

    @property
    def neuron_mode(self) -> str:
        return "replay" if self._replay_file is not None else "live"

    def sources(self, sample: TelemetrySample) -> dict[str, SourceState]:
        """Each source's state as of ``sample``, with the reason when it gave nothing."""
        failures = self.monitor.reasons()
        host = SourceState(sample.host is not None, failures.get("host"))
        if sample.gpus:
            nvml = SourceState(True, failures.get("nvml") or self._nvml_reason)
        else:
            why = failures.get("nvml") or self._nvml_reason or "NVML not available: no GPU read"
            nvml = SourceState(False, why)
        neuron_reason = failures.get("neuron") or self._neuron.reason
        if sample.neuron is None and neuron_reason is None:
            neuron_reason = "waiting for the first neuron-monitor report"
        neuron = SourceState(
            sample.neuron is not None,
            None if sample.neuron is not None else neuron_reason,
            self.neuron_mode,
            self._replay_file,
        )
        hpu_reason = failures.get("hpu") or self._gaudi.reason
        hpu = SourceState(
            bool(sample.hpus),
            None if sample.hpus else hpu_reason or "Gaudi telemetry: no card read",
            self._gaudi.mode,
            self._hl_smi_file,
        )
        return {"host": host, "nvml": nvml, "neuron": neuron, "hpu": hpu}

    def snapshot(self) -> TopSnapshot:
        """Sample every source now."""
        sample = self.monitor.sample_now()
        return TopSnapshot(
            sample=sample,
            sources=self.sources(sample),
            interval_s=self.interval_s,
            # A replay's runtime pids belong to the machine it was recorded on: not named here.
            process_names=self._names.lookup(sample_pids(sample, neuron=self._replay_file is None)),
        )

    def first_snapshot(self, wait_for_neuron_s: float = NEURON_FIRST_REPORT_WAIT_S) -> TopSnapshot:
        """A snapshot whose CPU figures cover at least one interval since the monitor opened,
        after waiting up to ``wait_for_neuron_s`` for a live neuron-monitor's first report."""
        time.sleep(max(0.0, self._opened + self.interval_s - time.monotonic()))
        if self._neuron_on and not self._neuron.is_replay:
            deadline = time.monotonic() + wait_for_neuron_s
            while self._neuron.sample() is None and self._neuron.available:
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
        return self.snapshot()

    def close(self) -> None:
        self.monitor.close()
        self._neuron.close()  # not owned by the monitor when it was never available
        self._gaudi.close()

    def __enter__(self) -> TopMonitor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
