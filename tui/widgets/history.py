"""Scrolling histories for the live view: our own bounded deques, one point per drawn snapshot,
drawn by :class:`tui.widgets.trend.Trend` one cell per point."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from profilers.snapshot import Snapshot
from profilers.telemetry.samples import TelemetrySample

HISTORY_POINTS = 240  # at four draws a second, the last minute


def _points() -> deque[float]:
    return deque(maxlen=HISTORY_POINTS)


@dataclass
class LiveHistory:
    """What the live view has drawn so far, oldest first."""

    p50: deque[float] = field(default_factory=_points)
    p99: deque[float] = field(default_factory=_points)
    sequences_per_s: deque[float] = field(default_factory=_points)
    utilization: deque[float] = field(default_factory=_points)
    utilization_label: str = "CPU"

    def clear(self) -> None:
        for points in (self.p50, self.p99, self.sequences_per_s, self.utilization):
            points.clear()

    def push(self, snapshot: Snapshot) -> None:
        latency = snapshot.latency_window
        if latency is not None:
            self.p50.append(latency.p50 * 1000)
            self.p99.append(latency.p99 * 1000)
        if snapshot.sequences_per_s_window is not None:
            self.sequences_per_s.append(snapshot.sequences_per_s_window)
        self.push_telemetry(snapshot.telemetry)

    def push_telemetry(self, telemetry: TelemetrySample | None) -> None:
        """The utilisation history alone (between runs, from the idle readings)."""
        label, value = main_utilization(telemetry)
        if value is not None:
            self.utilization_label = label
            self.utilization.append(value)


def main_utilization(telemetry: TelemetrySample | None) -> tuple[str, float | None]:
    """The utilisation that matters most: the GPUs' mean, the NeuronCores' mean, or the CPU."""
    if telemetry is None:
        return "CPU", None
    gpus = [g.utilization_pct for g in telemetry.gpus if g.utilization_pct is not None]
    if gpus:
        return "GPU", sum(gpus) / len(gpus)
    if telemetry.neuron is not None:
        cores = [c.utilization_pct for c in telemetry.neuron.cores if c.utilization_pct is not None]
        if cores:
            return "NC", sum(cores) / len(cores)
    if telemetry.host is not None and telemetry.host.cpu_percent is not None:
        return "CPU", telemetry.host.cpu_percent
    return "CPU", None
