"""How ``plmprof top`` draws a snapshot: one compact table per source (NVIDIA GPUs, the host, AWS
Neuron), in the TUI's vocabulary (``tui.widgets.units``: decimal sizes, level-coloured bars, ``–``
for what is not known)."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from profilers.telemetry.samples import GpuSample, HostSample, LatencyPercentiles, NeuronSample
from profilers.top import SourceState, TopSnapshot
from tui.widgets.units import NA, bar, ms, number, size

BAR_WIDTH = 10
MAX_PROCESSES = 3


def gauge(percent: float | None, width: int = BAR_WIDTH) -> Text:
    """A level-coloured bar and its figure, e.g. ``█████      50%``; ``–`` when unknown. The
    bar is clipped at 100 %, the figure is not."""
    if percent is None:
        return Text(NA, style="dim")
    text = bar(percent / 100, width)
    text.append(f" {percent:3.0f}%")
    return text


def _percent_of(used: int | None, total: int | None) -> float | None:
    if used is None or not total:
        return None
    return 100.0 * used / total


def _unavailable(state: SourceState | None, fallback: str) -> Text:
    reason = state.reason if state is not None and state.reason else fallback
    return Text(reason, style="yellow")


# --- sections ----------------------------------------------------------------------------------


def _gpu_processes(gpu: GpuSample, names: dict[int, str]) -> str:
    if gpu.process_memory_bytes is None:
        return NA
    if not gpu.process_memory_bytes:
        return "none"
    ranked = sorted(gpu.process_memory_bytes.items(), key=lambda item: -item[1])
    shown = [f"{pid} {names.get(pid, '?')} {size(used)}" for pid, used in ranked[:MAX_PROCESSES]]
    more = len(ranked) - MAX_PROCESSES
    return ", ".join(shown) + (f" +{more} more" if more > 0 else "")


def _power(gpu: GpuSample) -> str:
    if gpu.power_w is None and gpu.power_limit_w is None:
        return NA
    used = NA if gpu.power_w is None else f"{gpu.power_w:.0f}"
    limit = NA if gpu.power_limit_w is None else f"{gpu.power_limit_w:.0f}"
    return f"{used} / {limit} W"


def gpu_section(snapshot: TopSnapshot) -> RenderableType:
    state = snapshot.sources.get("nvml")
    gpus = snapshot.sample.gpus
    if not gpus:
        return Group(Text("NVIDIA GPUs", style="bold"), _unavailable(state, "NVML not available"))
    table = Table(title="NVIDIA GPUs", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    for column in ("GPU", "name", "util", "memory", "power / limit", "temp", "SM clock"):
        table.add_column(column, no_wrap=True)
    table.add_column("processes (pid name memory)")
    for gpu in gpus:
        memory = gauge(_percent_of(gpu.memory_used_bytes, gpu.memory_total_bytes))
        memory.append(f" {size(gpu.memory_used_bytes)} / {size(gpu.memory_total_bytes)}")
        table.add_row(
            str(gpu.index),
            gpu.name or NA,
            gauge(gpu.utilization_pct),
            memory,
            _power(gpu),
            number(gpu.temperature_c, "°C"),
            number(gpu.sm_clock_mhz, "MHz"),
            _gpu_processes(gpu, snapshot.process_names),
        )
    parts: list[RenderableType] = [table]
    if state is not None and state.reason:  # e.g. "some GPUs not readable: …"
        parts.append(Text(state.reason, style="yellow"))
    return Group(*parts)


def host_section(host: HostSample | None, state: SourceState | None) -> RenderableType:
    if host is None:
        return Group(Text("Host", style="bold"), _unavailable(state, "host not readable"))
    table = Table(title="Host", title_justify="left", show_header=False, box=None)
    per_row = max(2, min(4, len(host.cpu_percent_per_core)))
    for _ in range(per_row):
        table.add_column(no_wrap=True)
    cells = [
        Text(f"cpu{index:<3}").append_text(gauge(percent))
        for index, percent in enumerate(host.cpu_percent_per_core)
    ]
    for start in range(0, len(cells), per_row):
        row = cells[start : start + per_row]
        table.add_row(*row, *([""] * (per_row - len(row))))
    total = Text("all   ").append_text(gauge(host.cpu_percent))
    memory = Text("mem   ").append_text(
        gauge(_percent_of(host.memory_used_bytes, host.memory_total_bytes))
    )
    memory.append(f" {size(host.memory_used_bytes)} / {size(host.memory_total_bytes)}")
    table.add_row(total, memory, *([""] * (per_row - 2)))
    return table


def _latency_table(neuron: NeuronSample) -> Table | Text:
    rows: list[tuple[str, LatencyPercentiles]] = []
    if neuron.total_latency is not None:
        rows.append(("total", neuron.total_latency))
    if neuron.device_latency is not None:
        rows.append(("device", neuron.device_latency))
    if not rows:
        return Text("runtime latency: nothing ran in the last period", style="dim")
    table = Table(
        title="runtime latency", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False
    )
    names = ("p0", "p1", "p25", "p50", "p75", "p99", "p100")
    table.add_column("")
    for name in names:
        table.add_column(name, justify="right")
    for label, figures in rows:
        table.add_row(label, *(ms(getattr(figures, name)) for name in names))
    return table


def _flops_per_s(flops: float | None, period_s: float | None) -> str:
    if flops is None or not period_s:
        return NA
    return f"{flops / period_s / 1e12:.1f}"


def neuron_section(neuron: NeuronSample | None, state: SourceState | None) -> RenderableType:
    title = "AWS Neuron"
    if state is not None and state.mode == "replay":
        title += f" (replaying {state.replay_file})"
    if neuron is None:
        return Group(Text(title, style="bold"), _unavailable(state, "neuron-monitor not found"))
    about = [
        neuron.instance_type,
        neuron.device_type,
        None if neuron.device_count is None else f"{neuron.device_count} device(s)",
        None if neuron.cores_per_device is None else f"{neuron.cores_per_device} cores each",
    ]
    heading = Text(title, style="bold")
    described = ", ".join(part for part in about if part)
    if described:
        heading.append(f"  {described}", style="")
    cores = Table(
        title="NeuronCores (device memory)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
    )
    for column in ("core", "util", "TFLOP/s*", "tensors", "constants", "model code"):
        cores.add_column(column, no_wrap=True, justify="left" if column == "util" else "right")
    for column in ("scratchpad", "runtime", "total"):
        cores.add_column(column, no_wrap=True, justify="right")
    for core in neuron.cores:
        cores.add_row(
            str(core.index),
            gauge(core.utilization_pct),
            _flops_per_s(core.flops, neuron.period_s),
            size(core.tensors_bytes),
            size(core.constants_bytes),
            size(core.model_code_bytes),
            size(core.model_shared_scratchpad_bytes),
            size(core.runtime_memory_bytes),
            size(core.memory_total_bytes),
        )
    if not neuron.cores:
        cores.add_row("–", Text("no NeuronCore in use", style="dim"), *([""] * 7))
    user, system = neuron.runtime_vcpu_user_pct, neuron.runtime_vcpu_system_pct
    lines = [
        f"runtime vCPU: user {number(user, '%')}, system {number(system, '%')}"
        f"   runtime pids: {', '.join(map(str, neuron.runtime_pids)) or 'none'}",
        f"runtime host memory {size(neuron.runtime_host_memory_bytes)} (application "
        f"{size(neuron.host_application_memory_bytes)}, DMA buffers "
        f"{size(neuron.host_dma_buffers_bytes)}, tensors {size(neuron.host_tensors_bytes)}, "
        f"constants {size(neuron.host_constants_bytes)}); device memory "
        f"{size(neuron.runtime_device_memory_bytes)}",
        f"executions: completed {_count(neuron.executions_completed)}, failed "
        f"{_count(neuron.executions_failed)}, errors {_count(neuron.execution_errors)}",
    ]
    parts: list[RenderableType] = [heading, cores, *(Text(line) for line in lines)]
    parts.append(_latency_table(neuron))
    parts.append(
        Text("* neuron-monitor's flops counter, read as operations per period", style="dim")
    )
    if neuron.errors:
        parts.append(Text("groups reporting errors: " + ", ".join(neuron.errors), style="yellow"))
    return Group(*parts)


def hpu_section(snapshot: TopSnapshot) -> RenderableType:
    """Intel Gaudi cards: utilisation, memory, power, temperature and HLML's energy counter."""
    state = snapshot.sources.get("hpu")
    title = "Intel Gaudi"
    if state is not None and state.mode is not None:
        title += f" ({state.mode}" + (f" {state.replay_file})" if state.replay_file else ")")
    cards = snapshot.sample.hpus
    if not cards:
        unavailable = _unavailable(state, "Gaudi telemetry not available")
        return Group(Text(title, style="bold"), unavailable)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    for column in ("card", "module", "name", "util", "memory", "power", "temp", "energy*"):
        table.add_column(column, no_wrap=True)
    for card in cards:
        memory = gauge(_percent_of(card.memory_used_bytes, card.memory_total_bytes))
        memory.append(f" {size(card.memory_used_bytes)} / {size(card.memory_total_bytes)}")
        table.add_row(
            str(card.index),
            NA if card.module_id is None else str(card.module_id),
            card.name or NA,
            gauge(card.utilization_pct),
            memory,
            number(card.power_w, "W"),
            number(card.temperature_c, "°C"),
            number(None if card.energy_mj is None else card.energy_mj / 1e6, "kJ"),
        )
    note = "* HLML's energy counter since the driver loaded (hl-smi gives none)"
    return Group(table, Text(note, style="dim"))


def _count(value: int | None) -> str:
    return NA if value is None else f"{value:,}"


def render_top(snapshot: TopSnapshot, header: bool = True) -> RenderableType:
    """The whole view: header, GPUs, host, Neuron, Gaudi."""
    sample = snapshot.sample
    parts: list[RenderableType] = []
    if header:
        parts.append(
            Text(
                f"plmprof top · every {snapshot.interval_s:g} s · q or Ctrl-C quits",
                style="bold",
            )
        )
    parts.append(gpu_section(snapshot))
    parts.append(host_section(sample.host, snapshot.sources.get("host")))
    parts.append(neuron_section(sample.neuron, snapshot.sources.get("neuron")))
    parts.append(hpu_section(snapshot))
    return Group(*parts)
