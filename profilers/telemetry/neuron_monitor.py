"""AWS Neuron telemetry from ``neuron-monitor`` JSON lines (format: shared/reference/neuron.md).

``parse_report`` turns one line into a ``NeuronSample``. It takes every field as optional: a
missing or renamed counter is ``None``, and a metric group whose ``error`` is a non-empty string
counts as no data for that group (its name goes into ``NeuronSample.errors``).

Per-core figures are combined across runtimes: ``flops`` and device memory are summed (each
runtime reports what it executed and allocated on the core). Utilisation takes the maximum over
the runtimes that list the core: a process may list cores that other processes own, with zeros,
so an average would dilute the owner's figure with those zeros, and a sum could pass 100 %.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import weakref
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from engines.errors import InvalidInputError
from profilers.coerce import integer, number, text
from profilers.telemetry.samples import LatencyPercentiles, NeuronCoreSample, NeuronSample

MONITOR_CONFIG: dict[str, Any] = {
    "period": "1s",
    "neuron_runtimes": [
        {
            "tag_filter": ".*",
            "metrics": [
                {"type": "neuroncore_counters"},
                {"type": "memory_used"},
                {"type": "neuron_runtime_vcpu_usage"},
                {"type": "execution_stats"},
            ],
        }
    ],
    "system_metrics": [
        {"type": "vcpu_usage"},
        {"type": "memory_info"},
        {"type": "neuron_hw_counters"},
    ],
}

_CORE_MEMORY_FIELDS = (
    ("constants", "constants_bytes"),
    ("model_code", "model_code_bytes"),
    ("model_shared_scratchpad", "model_shared_scratchpad_bytes"),
    ("runtime_memory", "runtime_memory_bytes"),
    ("tensors", "tensors_bytes"),
)
_PERCENTILES = ("p0", "p1", "p25", "p50", "p75", "p99", "p100")
_FAILED_EXECUTIONS = (
    "completed_with_err",
    "completed_with_num_err",
    "timed_out",
    "incorrect_input",
    "failed_to_queue",
)

N = TypeVar("N", int, float)


# --- small readers: each returns None for anything it cannot read -------------------------------


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _add(total: N | None, value: N | None) -> N | None:
    if value is None:
        return total
    return value if total is None else total + value


def _maximum(current: float | None, value: float | None) -> float | None:
    if value is None:
        return current
    return value if current is None else max(current, value)


def _group(
    parent: Mapping[str, Any], name: str, label: str, errors: list[str]
) -> Mapping[str, Any] | None:
    """The metric group ``name``, or ``None`` when absent or carrying an error string."""
    group = parent.get(name)
    if not isinstance(group, Mapping):
        return None
    error = group.get("error")
    if isinstance(error, str) and error.strip():
        errors.append(label)
        return None
    return group


def _latency(value: Any) -> LatencyPercentiles | None:
    if not isinstance(value, Mapping):
        return None
    figures = {name: number(value.get(name), text=True) for name in _PERCENTILES}
    if all(figure is None for figure in figures.values()):
        return None
    return LatencyPercentiles(**figures)


class _Core:
    """Per-core figures being combined across runtimes."""

    def __init__(self) -> None:
        self.utilization: float | None = None
        self.flops: float | None = None
        self.memory: dict[str, int | None] = {field: None for _, field in _CORE_MEMORY_FIELDS}

    def freeze(self, index: int) -> NeuronCoreSample:
        total: int | None = None
        for value in self.memory.values():
            total = _add(total, value)
        return NeuronCoreSample(
            index=index,
            utilization_pct=self.utilization,
            flops=self.flops,
            memory_total_bytes=total,
            **self.memory,
        )


def _core_index(key: Any) -> int | None:
    try:
        index = int(key)
    except (TypeError, ValueError):
        return None
    return index if index >= 0 else None


# --- the parser ----------------------------------------------------------------------------------


def decode_line(line: str | bytes) -> dict[str, Any]:
    """One neuron-monitor line as a JSON object; ``InvalidInputError`` when it is not one."""
    try:
        document = json.loads(line)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInputError(f"neuron-monitor line is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidInputError("neuron-monitor line is not a JSON object")
    return document


def parse_report(
    line: str | bytes | Mapping[str, Any], pids: Collection[int] | None = None
) -> NeuronSample:
    """Parse one neuron-monitor report (a JSON line or the decoded object).

    ``pids``: keep only the runtimes of these processes (all when ``None``). Raises
    ``InvalidInputError`` only when a text line is not a JSON object; any object parses.
    """
    report = line if isinstance(line, Mapping) else decode_line(line)
    errors: list[str] = []
    cores: dict[int, _Core] = {}
    runtime_pids: list[int] = []
    figures: dict[str, Any] = {}
    period: float | None = None
    busiest: tuple[int, Any, Any] | None = None  # (completed, total latency, device latency)

    def add(name: str, value: int | float | None) -> None:
        figures[name] = _add(figures.get(name), value)

    runtimes = report.get("neuron_runtime_data")
    for position, runtime in enumerate(runtimes if isinstance(runtimes, list) else []):
        if not isinstance(runtime, Mapping):
            continue
        pid = integer(runtime.get("pid"), text=True)
        if pids is not None and pid not in pids:
            continue
        label = f"neuron_runtime_data[{pid if pid is not None else f'#{position}'}]"
        error = runtime.get("error")
        if isinstance(error, str) and error.strip():
            errors.append(label)
            continue
        if pid is not None:
            runtime_pids.append(pid)
        body = _mapping(runtime.get("report"))

        counters = _group(body, "neuroncore_counters", f"{label}.neuroncore_counters", errors)
        if counters is not None:
            period = _maximum(period, number(counters.get("period"), text=True))
            for key, core_figures in _mapping(counters.get("neuroncores_in_use")).items():
                index = _core_index(key)
                if index is None or not isinstance(core_figures, Mapping):
                    continue
                core = cores.setdefault(index, _Core())
                core.utilization = _maximum(
                    core.utilization, number(core_figures.get("neuroncore_utilization"), text=True)
                )
                flops = number(core_figures.get("flops"), text=True)
                if flops is None:
                    flops = number(core_figures.get("effective_flops"), text=True)
                core.flops = _add(core.flops, flops)

        memory = _group(body, "memory_used", f"{label}.memory_used", errors)
        if memory is not None:
            used = _mapping(memory.get("neuron_runtime_used_bytes"))
            add("runtime_host_memory_bytes", integer(used.get("host"), text=True))
            add("runtime_device_memory_bytes", integer(used.get("neuron_device"), text=True))
            breakdown = _mapping(used.get("usage_breakdown"))
            host = _mapping(breakdown.get("host"))
            for name in ("application_memory", "constants", "dma_buffers", "tensors"):
                add(f"host_{name}_bytes", integer(host.get(name), text=True))
            for key, core_memory in _mapping(breakdown.get("neuroncore_memory_usage")).items():
                index = _core_index(key)
                if index is None or not isinstance(core_memory, Mapping):
                    continue
                core = cores.setdefault(index, _Core())
                for source, field in _CORE_MEMORY_FIELDS:
                    core.memory[field] = _add(
                        core.memory[field], integer(core_memory.get(source), text=True)
                    )

        vcpu = _group(
            body, "neuron_runtime_vcpu_usage", f"{label}.neuron_runtime_vcpu_usage", errors
        )
        if vcpu is not None:
            usage = _mapping(vcpu.get("vcpu_usage"))
            add("runtime_vcpu_user_pct", number(usage.get("user"), text=True))
            add("runtime_vcpu_system_pct", number(usage.get("system"), text=True))

        stats = _group(body, "execution_stats", f"{label}.execution_stats", errors)
        if stats is not None:
            summary = _mapping(stats.get("execution_summary"))
            completed = integer(summary.get("completed"), text=True)
            add("executions_completed", completed)
            for name in _FAILED_EXECUTIONS:
                add("executions_failed", integer(summary.get(name), text=True))
            for value in _mapping(stats.get("error_summary")).values():
                add("execution_errors", integer(value, text=True))
            latency = _mapping(stats.get("latency_stats"))
            total_latency = _latency(latency.get("total_latency"))
            device_latency = _latency(latency.get("device_latency"))
            if total_latency is not None or device_latency is not None:
                rank = completed if completed is not None else 0
                if busiest is None or rank > busiest[0]:
                    busiest = (rank, total_latency, device_latency)

    system = _mapping(report.get("system_data"))
    memory_info = _group(system, "memory_info", "system_data.memory_info", errors)
    if memory_info is not None:
        figures["system_memory_total_bytes"] = integer(
            memory_info.get("memory_total_bytes"), text=True
        )
        figures["system_memory_used_bytes"] = integer(
            memory_info.get("memory_used_bytes"), text=True
        )
    vcpu_usage = _group(system, "vcpu_usage", "system_data.vcpu_usage", errors)
    if vcpu_usage is not None:
        average = _mapping(vcpu_usage.get("average_usage"))
        figures["system_vcpu_user_pct"] = number(average.get("user"), text=True)
        figures["system_vcpu_system_pct"] = number(average.get("system"), text=True)
    counters_hw = _group(system, "neuron_hw_counters", "system_data.neuron_hw_counters", errors)
    if counters_hw is not None:
        devices = counters_hw.get("neuron_devices")
        for device in devices if isinstance(devices, list) else []:
            device = _mapping(device)
            for name in ("mem_ecc_uncorrected", "sram_ecc_uncorrected"):
                add("ecc_uncorrected", integer(device.get(name), text=True))

    instance = _group(report, "instance_info", "instance_info", errors)
    if instance is not None:
        figures["instance_type"] = text(instance.get("instance_type"))
    hardware = _group(report, "neuron_hardware_info", "neuron_hardware_info", errors)
    if hardware is not None:
        figures["device_type"] = text(hardware.get("neuron_device_type"))
        figures["device_version"] = text(hardware.get("neuron_device_version"))
        figures["neuroncore_version"] = text(hardware.get("neuroncore_version"))
        figures["device_count"] = integer(hardware.get("neuron_device_count"), text=True)
        figures["device_memory_bytes"] = integer(
            hardware.get("neuron_device_memory_size"), text=True
        )
        figures["cores_per_device"] = integer(
            hardware.get("neuroncore_per_device_count"), text=True
        )

    return NeuronSample(
        cores=tuple(cores[index].freeze(index) for index in sorted(cores)),
        runtime_pids=tuple(runtime_pids),
        period_s=period,
        total_latency=None if busiest is None else busiest[1],
        device_latency=None if busiest is None else busiest[2],
        errors=tuple(errors),
        **figures,
    )


def config_for_period(period_s: float) -> dict[str, Any]:
    """``MONITOR_CONFIG`` with its reporting period set (Go duration text: "1s", "500ms")."""
    config = json.loads(json.dumps(MONITOR_CONFIG))
    milliseconds = max(1, round(period_s * 1000))
    config["period"] = (
        f"{milliseconds // 1000}s" if milliseconds % 1000 == 0 else f"{milliseconds}ms"
    )
    return config


# --- the sampler ---------------------------------------------------------------------------------


def _terminate(process: subprocess.Popen[str]) -> None:
    """Stop a child process: SIGTERM, then SIGKILL after 3 s."""
    if process.poll() is not None:
        return
    with contextlib.suppress(OSError):
        process.terminate()
    try:
        process.wait(timeout=3)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=3)


class NeuronMonitorSampler:
    """Keeps the latest report of a running ``neuron-monitor``, or replays a recorded file.

    Live: ``start()`` (called by the first ``sample()`` too) writes the config to a temporary
    file, runs ``neuron-monitor -c <config>`` and reads its lines on a daemon thread.
    ``sample()`` returns the most recent parsed report, ``None`` before the first one and after
    the tool exits (``reason`` then says why). Lines that are not JSON objects are skipped and
    counted in ``malformed_lines``. ``close()`` terminates the tool.

    Replay (``NeuronMonitorSampler.replay(path)``): each ``sample()`` returns the next recorded
    report in file order; after the last one it keeps returning the last one (``cycle=True``
    starts over instead).
    """

    def __init__(
        self,
        period_s: float = 1.0,
        executable: str = "neuron-monitor",
        pids: Collection[int] | None = None,
    ) -> None:
        self._period_s = period_s
        self._executable = executable
        self._pids = None if pids is None else frozenset(pids)
        self._lock = threading.Lock()
        self._latest: NeuronSample | None = None
        self._reason: str | None = None
        self._started = False
        self._closed = False
        self._process: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._replay: list[NeuronSample] | None = None
        self._replay_position = 0
        self._cycle = False
        self.lines_read = 0
        self.malformed_lines = 0

    @classmethod
    def replay(
        cls, path: str | os.PathLike[str], cycle: bool = False, pids: Collection[int] | None = None
    ) -> NeuronMonitorSampler:
        """A sampler that plays back a recorded neuron-monitor output file, one report per call."""
        sampler = cls(pids=pids)
        sampler._started = True
        sampler._cycle = cycle
        sampler._replay = []
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            sampler._reason = f"neuron-monitor replay file not readable: {error}"
            return sampler
        sampler._feed(text.splitlines())
        if not sampler._replay:
            sampler._reason = f"neuron-monitor replay file holds no report: {path}"
        return sampler

    def _feed(self, lines: Iterable[str]) -> None:
        for line in lines:
            if line.strip():
                self._accept(line)

    def _accept(self, line: str) -> None:
        """Parse one line; store it (latest, or appended to the replay list) or count it as bad."""
        try:
            sample = parse_report(line, self._pids)
        except Exception:
            with self._lock:
                self.lines_read += 1
                self.malformed_lines += 1
            return
        with self._lock:
            self.lines_read += 1
            if self._replay is not None:
                self._replay.append(sample)
            else:
                self._latest = sample

    @property
    def is_replay(self) -> bool:
        return self._replay is not None

    @property
    def available(self) -> bool:
        """Whether reports can come: a replay with reports, or a tool found (and still running)."""
        if self._replay is not None:
            return bool(self._replay)
        if not self._started:
            return self._find() is not None
        return self._reason is None

    @property
    def reason(self) -> str | None:
        if self._replay is None and not self._started and self._find() is None:
            return self._missing()
        return self._reason

    def _find(self) -> str | None:
        return shutil.which(self._executable)

    def _missing(self) -> str:
        return f"{self._executable} not found on PATH"

    def start(self) -> None:
        """Run neuron-monitor (once). Never raises: failures set ``reason``."""
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
        path = self._find()
        if path is None:
            self._reason = self._missing()
            return
        try:
            self._workdir = tempfile.TemporaryDirectory(prefix="plmprof-neuron-")
            config = Path(self._workdir.name) / "monitor.json"
            config.write_text(json.dumps(config_for_period(self._period_s)), encoding="utf-8")
            stderr = (Path(self._workdir.name) / "stderr.txt").open("w", encoding="utf-8")
            try:
                self._process = subprocess.Popen(
                    [path, "-c", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    text=True,
                    encoding="utf-8",
                    errors="replace",
                    bufsize=1,
                )
            finally:
                stderr.close()
        except OSError as error:
            self._reason = f"{self._executable} could not start: {error}"
            return
        # Stops the tool at interpreter exit too, should close() never be called.
        self._finalizer = weakref.finalize(self, _terminate, self._process)
        self._thread = threading.Thread(
            target=self._read_loop, name="plmprof-neuron-monitor", daemon=True
        )
        self._thread.start()

    def _read_loop(self) -> None:
        process = self._process
        if process is None or process.stdout is None:
            return
        with contextlib.suppress(OSError, ValueError):
            for line in process.stdout:
                if line.strip():
                    self._accept(line)
        code = process.wait()
        with self._lock:
            self._latest = None
            if not self._closed:
                self._reason = f"{self._executable} exited with code {code}{self._stderr_tail()}"

    def _stderr_tail(self) -> str:
        if self._workdir is None:
            return ""
        try:
            text = (Path(self._workdir.name) / "stderr.txt").read_text(errors="replace").strip()
        except OSError:
            return ""
        return f": {text.splitlines()[-1][:300]}" if text else ""

    def sample(self) -> NeuronSample | None:
        """The latest report (live) or the next recorded one (replay); ``None`` when none."""
        if self._replay is not None:
            with self._lock:
                if not self._replay:
                    return None
                position = self._replay_position
                if position >= len(self._replay):
                    position = 0 if self._cycle else len(self._replay) - 1
                self._replay_position = position + 1
                return self._replay[position]
        if not self._started:
            self.start()
        with self._lock:
            return self._latest

    def close(self) -> None:
        """Stop neuron-monitor and its reader thread. Safe to call more than once."""
        with self._lock:
            self._closed = True
            process, self._process = self._process, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if process is not None:
            _terminate(process)
        if self._thread is not None:
            self._thread.join(timeout=3)
            self._thread = None
        if process is not None and process.stdout is not None:
            with contextlib.suppress(OSError):
                process.stdout.close()
        if self._workdir is not None:
            with contextlib.suppress(OSError):
                self._workdir.cleanup()
            self._workdir = None
        with self._lock:
            self._latest = None
            if self._reason is None and self._replay is None and self._started:
                self._reason = f"{self._executable} closed"

    def __enter__(self) -> NeuronMonitorSampler:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
