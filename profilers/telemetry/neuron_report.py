"""One ``neuron-monitor`` JSON line as a ``NeuronSample`` (the format AWS documents for
``neuron-monitor``), and the monitor configuration that asks for what is read here.

``parse_report`` takes every field as optional: a missing or renamed counter is ``None``, and a
metric group whose ``error`` is a non-empty string counts as no data for that group (its name
goes into ``NeuronSample.errors``).

Per-core figures are combined across runtimes: ``flops`` and device memory are summed (each
runtime reports what it executed and allocated on the core). Utilisation takes the maximum over
the runtimes that list the core: a process may list cores that other processes own, with zeros,
so an average would dilute the owner's figure with those zeros, and a sum could pass 100 %.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
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
