"""``plmprof top``: a live device monitor drawn as compact tables, or JSON snapshots.

On a terminal the view redraws in place every ``--interval`` seconds until ``q`` or Ctrl-C.
Piped, it prints one frame per refresh (like ``top -b``). ``--once`` prints one snapshot;
``--json`` prints ``TopSnapshot.to_dict()`` (one object per line when it keeps refreshing).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from engines.errors import InvalidInputError
from profilers.telemetry.samples import (
    GpuSample,
    HostSample,
    LatencyPercentiles,
    NeuronSample,
)
from profilers.top import SourceState, TopMonitor, TopSnapshot

try:  # POSIX terminals only; elsewhere only Ctrl-C quits
    import termios
    import tty
except ImportError:  # pragma: no cover - Windows
    termios = None  # type: ignore[assignment]
    tty = None  # type: ignore[assignment]

EXIT_OK = 0
QUIT_KEYS = frozenset("qQ")
NA = "n/a"
BAR_WIDTH = 10
MAX_PROCESSES = 3


# --- small text helpers ------------------------------------------------------------------------


def _level_style(percent: float) -> str:
    if percent >= 90:
        return "red"
    if percent >= 60:
        return "yellow"
    return "green"


def bar(percent: float | None, width: int = BAR_WIDTH) -> Text:
    """A fixed-width bar and the figure, e.g. ``█████░░░░░  50%``; ``n/a`` when unknown."""
    if percent is None:
        return Text(NA, style="dim")
    clipped = min(100.0, max(0.0, percent))
    filled = round(clipped / 100 * width)
    text = Text("█" * filled, style=_level_style(clipped))
    text.append("░" * (width - filled), style="dim")
    text.append(f" {percent:3.0f}%")
    return text


def size(value: int | float | None) -> str:
    """Bytes in binary units (GiB, MiB, KiB, B); ``n/a`` when unknown."""
    if value is None:
        return NA
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(value) >= scale:
            return f"{value / scale:.1f} {unit}" if unit == "GiB" else f"{value / scale:.0f} {unit}"
    return f"{value:.0f} B"


def _number(value: float | int | None, unit: str, digits: int = 0) -> str:
    return NA if value is None else f"{value:.{digits}f} {unit}"


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
        memory = bar(_percent_of(gpu.memory_used_bytes, gpu.memory_total_bytes))
        memory.append(f" {size(gpu.memory_used_bytes)} / {size(gpu.memory_total_bytes)}")
        table.add_row(
            str(gpu.index),
            gpu.name or NA,
            bar(gpu.utilization_pct),
            memory,
            _power(gpu),
            _number(gpu.temperature_c, "°C"),
            _number(gpu.sm_clock_mhz, "MHz"),
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
        Text(f"cpu{index:<3}").append_text(bar(percent))
        for index, percent in enumerate(host.cpu_percent_per_core)
    ]
    for start in range(0, len(cells), per_row):
        row = cells[start : start + per_row]
        table.add_row(*row, *([""] * (per_row - len(row))))
    total = Text("all   ").append_text(bar(host.cpu_percent))
    memory = Text("mem   ").append_text(
        bar(_percent_of(host.memory_used_bytes, host.memory_total_bytes))
    )
    memory.append(f" {size(host.memory_used_bytes)} / {size(host.memory_total_bytes)}")
    table.add_row(total, memory, *([""] * (per_row - 2)))
    return table


def _ms(value: float | None) -> str:
    return NA if value is None else f"{value * 1e3:.2f}"


def _latency_table(neuron: NeuronSample) -> Table | Text:
    rows: list[tuple[str, LatencyPercentiles]] = []
    if neuron.total_latency is not None:
        rows.append(("total", neuron.total_latency))
    if neuron.device_latency is not None:
        rows.append(("device", neuron.device_latency))
    if not rows:
        return Text("runtime latency: nothing ran in the last period", style="dim")
    table = Table(
        title="runtime latency (ms)", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False
    )
    names = ("p0", "p1", "p25", "p50", "p75", "p99", "p100")
    table.add_column("")
    for name in names:
        table.add_column(name, justify="right")
    for label, figures in rows:
        table.add_row(label, *(_ms(getattr(figures, name)) for name in names))
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
            bar(core.utilization_pct),
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
        f"runtime vCPU: user {_number(user, '%', 1)}, system {_number(system, '%', 1)}"
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


def _count(value: int | None) -> str:
    return NA if value is None else f"{value:,}"


def render_top(snapshot: TopSnapshot, header: bool = True) -> RenderableType:
    """The whole view: header, GPUs, host, Neuron."""
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
    return Group(*parts)


# --- keys ---------------------------------------------------------------------------------------


class KeyReader:
    """Reads single key presses from a terminal without echo (cbreak mode; Ctrl-C still sends
    SIGINT). On anything that is not a terminal it only waits. Restores the terminal on exit."""

    def __init__(self, fd: int | None = None) -> None:
        self.fd = fd
        self._saved: list[Any] | None = None

    @property
    def active(self) -> bool:
        return self._saved is not None

    def __enter__(self) -> KeyReader:
        fd = self.fd
        if fd is None or termios is None or tty is None or not os.isatty(fd):
            return self
        try:
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        except (termios.error, OSError):
            self._saved = None
        return self

    def __exit__(self, *exc_info: object) -> None:
        saved, self._saved = self._saved, None
        if saved is not None and self.fd is not None and termios is not None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)

    def quit_pressed(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s``; ``True`` as soon as q is pressed."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            left = deadline - time.monotonic()
            if not self.active or self.fd is None:
                time.sleep(max(0.0, left))
                return False
            if left <= 0:
                return False
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return False
            try:
                typed = os.read(self.fd, 64).decode("utf-8", errors="ignore")
            except OSError:
                return False
            if QUIT_KEYS.intersection(typed):
                return True


def _stdin_fd() -> int | None:
    try:
        return sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return None


# --- loops --------------------------------------------------------------------------------------


def _frames(
    top: TopMonitor, count: int | None, wait: Callable[[float], bool]
) -> Iterator[TopSnapshot]:
    """Snapshots every interval until ``count`` are given or ``wait`` says quit."""
    given = 0
    next_at = time.monotonic()
    snapshot = top.first_snapshot()
    while True:
        yield snapshot
        given += 1
        if count is not None and given >= count:
            return
        next_at = max(next_at + top.interval_s, time.monotonic())
        if wait(next_at - time.monotonic()):
            return
        snapshot = top.snapshot()


def live_view(top: TopMonitor, console: Console, count: int | None, keys: KeyReader) -> None:
    """Redraw in place on a terminal until q, Ctrl-C or ``count`` refreshes."""
    waiting = Text(f"plmprof top: sampling every {top.interval_s:g} s …")
    with Live(
        waiting,
        console=console,
        screen=True,
        auto_refresh=False,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as live:
        live.refresh()
        for snapshot in _frames(top, count, keys.quit_pressed):
            live.update(render_top(snapshot), refresh=True)


def batch_view(top: TopMonitor, console: Console, count: int | None) -> None:
    """Not a terminal: one frame per refresh, one after another."""
    for number, snapshot in enumerate(_frames(top, count, _sleep)):
        if number:
            console.rule()
        console.print(render_top(snapshot, header=False))


def json_lines(top: TopMonitor, out: TextIO, count: int | None) -> None:
    for snapshot in _frames(top, count, _sleep):
        out.write(json.dumps(snapshot.to_dict()) + "\n")
        out.flush()


def _sleep(seconds: float) -> bool:
    time.sleep(max(0.0, seconds))
    return False


def execute_top(
    interval_s: float,
    once: bool,
    as_json: bool,
    count: int | None,
    neuron_replay: Path | None,
    console: Console,
    out: TextIO | None = None,
) -> int:
    """Run ``plmprof top``; bad input raises ``InvalidInputError`` (exit 2), quitting gives 0.

    ``out``: where JSON goes (standard output when ``None``). Keys are read from standard input.
    """
    if count is not None and count < 1:
        raise InvalidInputError(f"--count must be at least 1 (got {count})")
    if once:
        count = 1
    stream = out if out is not None else sys.stdout
    try:
        with TopMonitor(interval_s, neuron_replay=neuron_replay) as top:
            if as_json:
                json_lines(top, stream, count)
            elif once:
                console.print(render_top(top.first_snapshot(), header=False))
            elif console.is_terminal:
                with KeyReader(_stdin_fd()) as keys:
                    live_view(top, console, count, keys)
            else:
                batch_view(top, console, count)
    except KeyboardInterrupt:
        return EXIT_OK  # Ctrl-C is how a live view is meant to end
    except BrokenPipeError:  # piped into a reader that left (head): not an error
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        return EXIT_OK
    return EXIT_OK
