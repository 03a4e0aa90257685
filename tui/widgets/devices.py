"""The device panel, in the spirit of nvitop and neuron-top: per GPU utilisation, memory, power
against its limit, temperature and clocks; per NeuronCore utilisation and the device memory
breakdown; per Gaudi card utilisation, memory, power and temperature; host CPU per core and
memory; and a utilisation history. In a short terminal (the Live tab's compact layout) one line
per device instead, so that the panel fits beside the memory panel."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label

from profilers.telemetry.samples import (
    GpuSample,
    HostSample,
    HpuSample,
    NeuronSample,
    TelemetrySample,
)
from tui.widgets.fitted import FittedText
from tui.widgets.history import LiveHistory
from tui.widgets.trend import Trend
from tui.widgets.units import BUSY, NA, SHORT, meter, number, ratio, size, size_pair

_SHADES = " ▁▂▃▄▅▆▇█"
_MANY_CORES = 32  # past this, one shaded character per core


def _pct(value: float | None) -> str:
    return NA if value is None else f"{value:.0f} %"


def _fraction(pct: float | None) -> float | None:
    return None if pct is None else pct / 100


def _grid(cells: list[Text], cell_width: int, width: int, indent: str = " ") -> Text:
    """Lay ``cells`` out left to right, as many per line as ``width`` allows."""
    per_line = max(1, (width - len(indent)) // cell_width)
    text = Text()
    for start in range(0, len(cells), per_line):
        text.append(indent)
        for cell in cells[start : start + per_line]:
            cell = cell.copy()
            cell.truncate(cell_width - 1, pad=True)
            text.append_text(cell)
            text.append(" ")
        text.rstrip()
        text.append("\n")
    return text


def gpu_text(gpu: GpuSample, width: int) -> Text:
    text = Text()
    text.append(f"GPU{gpu.index}", style="bold")
    text.append(f" {gpu.name or 'unknown GPU'}\n")
    half = width >= 72
    bar_width = max(6, (width // 2 if half else width) - 28)
    memory = size_pair(gpu.memory_used_bytes, gpu.memory_total_bytes)
    busy = _fraction(gpu.utilization_pct)
    util = meter(" util ", busy, bar_width, _pct(gpu.utilization_pct), BUSY)
    mem = meter(" mem  ", ratio(gpu.memory_used_bytes, gpu.memory_total_bytes), bar_width, memory)
    if half:
        util.truncate(width // 2, pad=True)
        text.append_text(util)
        text.append_text(mem)
        text.append("\n")
    else:
        text.append_text(util)
        text.append("\n")
        text.append_text(mem)
        text.append("\n")
    power = f"{number(gpu.power_w)} / {number(gpu.power_limit_w)} W"
    text.append_text(meter(" power", ratio(gpu.power_w, gpu.power_limit_w), bar_width, power))
    temperature = NA if gpu.temperature_c is None else f"{gpu.temperature_c:.0f} °C"
    text.append(f" · {temperature}", style=_temperature_style(gpu.temperature_c))
    text.append(f" · SM {number(gpu.sm_clock_mhz)} MHz · mem {number(gpu.memory_clock_mhz)} MHz\n")
    return text


def hpu_text(card: HpuSample, width: int) -> Text:
    """One Gaudi card: utilisation and memory meters, power and temperature."""
    text = Text()
    text.append(f"Gaudi{card.index}", style="bold")
    module = "" if card.module_id is None else f" · module {card.module_id}"
    text.append(f" {card.name or 'Intel Gaudi'}{module} ({card.source})\n")
    bar_width = max(6, width - 28)
    memory = size_pair(card.memory_used_bytes, card.memory_total_bytes)
    busy = _fraction(card.utilization_pct)
    text.append_text(meter(" util ", busy, bar_width, _pct(card.utilization_pct), BUSY))
    text.append("\n")
    used = ratio(card.memory_used_bytes, card.memory_total_bytes)
    text.append_text(meter(" mem  ", used, bar_width, memory))
    temperature = NA if card.temperature_c is None else f"{card.temperature_c:.0f} °C"
    text.append(f"\n power {number(card.power_w)} W · ")
    text.append(temperature, style=_temperature_style(card.temperature_c))
    text.append("\n")
    return text


def _temperature_style(celsius: float | None) -> str:
    if celsius is None:
        return "dim"
    return "red" if celsius >= 85 else "yellow" if celsius >= 75 else ""


def neuron_text(neuron: NeuronSample, width: int) -> Text:
    text = Text()
    kind = " · ".join(
        part
        for part in (neuron.instance_type, neuron.device_type, neuron.neuroncore_version)
        if part
    )
    text.append("Neuron", style="bold")
    text.append(f" {kind} · {len(neuron.cores)} NeuronCores\n" if kind else "\n")
    cells = [
        meter(
            f"NC{core.index:<2}",
            _fraction(core.utilization_pct),
            8,
            _pct(core.utilization_pct),
            BUSY,
        )
        for core in neuron.cores
    ]
    text.append_text(_grid(cells, 22, width))
    parts = {"tensors": 0, "constants": 0, "model code": 0, "scratchpad": 0, "runtime": 0}
    seen = False
    for core in neuron.cores:
        for name, value in (
            ("tensors", core.tensors_bytes),
            ("constants", core.constants_bytes),
            ("model code", core.model_code_bytes),
            ("scratchpad", core.model_shared_scratchpad_bytes),
            ("runtime", core.runtime_memory_bytes),
        ):
            if value is not None:
                parts[name] += value
                seen = True
    text.append(" device memory ", style="bold")
    text.append(" · ".join(f"{k} {size(v)}" for k, v in parts.items()) if seen else NA)
    text.append("\n host memory   ", style="bold")
    host = {
        "application": neuron.host_application_memory_bytes,
        "constants": neuron.host_constants_bytes,
        "DMA buffers": neuron.host_dma_buffers_bytes,
        "tensors": neuron.host_tensors_bytes,
    }
    text.append(" · ".join(f"{k} {size(v)}" for k, v in host.items() if v is not None) or NA)
    text.append("\n runtime vCPU  ", style="bold")
    text.append(
        f"user {_pct(neuron.runtime_vcpu_user_pct)} · system {_pct(neuron.runtime_vcpu_system_pct)}"
    )
    if neuron.errors:
        text.append(f"\n not reported: {', '.join(neuron.errors)}", style="yellow")
    text.append("\n")
    return text


def _shades(percents: tuple[float, ...] | list[float]) -> str:
    """One shaded character per core: ``█▃▁▆``."""
    return "".join(_SHADES[min(8, max(0, round(pct / 100 * 8)))] for pct in percents)


def host_text(host: HostSample, width: int) -> Text:
    text = Text()
    memory = size_pair(host.memory_used_bytes, host.memory_total_bytes)
    used = ratio(host.memory_used_bytes, host.memory_total_bytes)
    one_line = width >= 76
    bar_width = max(6, (width // 2 if one_line else width) - 6 - 3 - len(memory))
    cpu = meter("CPU ", _fraction(host.cpu_percent), bar_width, _pct(host.cpu_percent), BUSY)
    if one_line:
        cpu.truncate(width // 2, pad=True)
    text.append_text(cpu)
    text.append("" if one_line else "\n")
    text.append_text(meter("mem " if not one_line else " mem", used, bar_width, memory))
    text.append("\n")
    cores = host.cpu_percent_per_core
    if len(cores) > _MANY_CORES:
        text.append(f" {len(cores)} cores ", style="bold")
        line_width = max(8, width - 12)
        for start in range(0, len(cores), line_width):
            if start:
                text.append("\n" + " " * 11)
            text.append(_shades(cores[start : start + line_width]), style=BUSY)
        text.append("\n")
    elif cores:
        cells = [
            meter(f"{i:>3}", pct / 100, 6, f"{pct:3.0f}%", BUSY) for i, pct in enumerate(cores)
        ]
        text.append_text(_grid(cells, 18, width))
    return text


def compact_line(
    label: str,
    fraction: float | None,
    value: str,
    extras: list[str],
    width: int,
    style: str | None = None,
) -> Text:
    """``label ▕███▏ value · extra · extra`` in ``width`` cells: the extras that fit (the last
    ones go first), the bar taking what is left, 4 to 20 cells."""
    kept = list(extras)
    while True:
        tail = " · ".join([value, *kept])
        bar_width = min(20, width - len(label) - 4 - len(tail))
        if bar_width >= 6 or not kept:
            break
        kept.pop()
    return meter(label, fraction, max(4, bar_width), tail, style)


def compact_devices_text(telemetry: TelemetrySample, width: int) -> Text:
    """One line per GPU, Gaudi card and Neuron device, two for the host (CPU, memory)."""
    lines: list[Text] = []
    for gpu in telemetry.gpus:
        temperature = NA if gpu.temperature_c is None else f"{gpu.temperature_c:.0f} °C"
        extras = [
            size_pair(gpu.memory_used_bytes, gpu.memory_total_bytes),
            f"{number(gpu.power_w)} W",
            temperature,
        ]
        busy = _fraction(gpu.utilization_pct)
        lines.append(
            compact_line(f"GPU{gpu.index}", busy, _pct(gpu.utilization_pct), extras, width, BUSY)
        )
    neuron = telemetry.neuron
    if neuron is not None:
        known = [c.utilization_pct for c in neuron.cores if c.utilization_pct is not None]
        mean = sum(known) / len(known) if known else None
        value = f"{_pct(mean)} of {len(neuron.cores)} NC"
        extras = [_shades(known)] if known else []
        lines.append(compact_line("Neuron", _fraction(mean), value, extras, width, BUSY))
    for card in telemetry.hpus:
        memory = size_pair(card.memory_used_bytes, card.memory_total_bytes)
        extras = [memory, f"{number(card.power_w)} W"]
        busy = _fraction(card.utilization_pct)
        label = f"Gaudi{card.index}"
        lines.append(compact_line(label, busy, _pct(card.utilization_pct), extras, width, BUSY))
    host = telemetry.host
    if host is not None:
        cores = _shades(host.cpu_percent_per_core)
        busy = _fraction(host.cpu_percent)
        cpu = compact_line("CPU ", busy, _pct(host.cpu_percent), [cores], width, BUSY)
        lines.append(cpu)
        if cores and not cpu.plain.endswith(cores):  # too many cores for the CPU line
            step = max(8, width - 5)
            lines += [
                Text("     " + cores[i : i + step], style=BUSY) for i in range(0, len(cores), step)
            ]
        used = ratio(host.memory_used_bytes, host.memory_total_bytes)
        memory = size_pair(host.memory_used_bytes, host.memory_total_bytes)
        lines.append(compact_line("mem ", used, memory, [], width))
    return Text("\n").join(lines)


def devices_text(telemetry: TelemetrySample | None, width: int, compact: bool = False) -> Text:
    if telemetry is None:
        return Text("no telemetry yet", style="dim")
    if compact:
        return compact_devices_text(telemetry, width)
    text = Text()
    for gpu in telemetry.gpus:
        text.append_text(gpu_text(gpu, width))
    if telemetry.neuron is not None:
        text.append_text(neuron_text(telemetry.neuron, width))
    for card in telemetry.hpus:
        text.append_text(hpu_text(card, width))
    if telemetry.host is not None:
        text.append_text(host_text(telemetry.host, width))
    text.rstrip()
    return text


class DeviceMeters(FittedText):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.telemetry: TelemetrySample | None = None

    def show(self, telemetry: TelemetrySample | None) -> None:
        self.telemetry = telemetry
        self.refresh(layout=True)

    def text(self, width: int) -> Text:
        return devices_text(self.telemetry, width, self.screen.has_class(SHORT))


class DevicePanel(Vertical):
    """Devices. Call :meth:`show` with the latest telemetry (a run's, or an idle reading)."""

    def compose(self) -> ComposeResult:
        yield DeviceMeters(id="device-meters")
        with Horizontal(classes="spark-row"):
            yield Label("CPU %", id="utilization-label", classes="spark-label")
            yield Trend(fixed=(0, 100), id="utilization-history")

    def on_mount(self) -> None:
        self.border_title = "devices"

    def show(self, telemetry: TelemetrySample | None, history: LiveHistory) -> None:
        self.query_one(DeviceMeters).show(telemetry)
        self.query_one("#utilization-label", Label).update(f"{history.utilization_label} %")
        self.query_one("#utilization-history", Trend).show(history.utilization)
