"""The live view: run header with progress, latency, throughput and efficiency, memory, devices
and workers. It draws only from the latest snapshot the app holds, on a timer.

The panels sit in one grid (plmprof.tcss lays it out by the terminal's size). In a short terminal
(80x24) the compact layout drops the distribution and history charts and draws one line per
device, so that the key figures, the devices and the workers show without scrolling."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Container, VerticalScroll

from profilers.telemetry.samples import TelemetrySample
from tui.widgets.devices import DevicePanel
from tui.widgets.history import LiveHistory
from tui.widgets.latency import DistributionPanel, LatencyPanel
from tui.widgets.memory import MemoryPanel
from tui.widgets.throughput import ThroughputPanel
from tui.widgets.training import TrainingPanel
from tui.widgets.workers import LiveRun, RunHeader, WorkersPanel


class LivePane(VerticalScroll):
    """Call :meth:`draw` with the run (or ``None``) and idle telemetry when nothing runs."""

    def compose(self) -> ComposeResult:
        yield RunHeader(id="run-header")
        with Container(id="live-grid"):
            yield LatencyPanel(id="latency-panel", classes="panel")
            yield ThroughputPanel(id="throughput-panel", classes="panel")
            yield DistributionPanel(id="distribution-panel", classes="panel")
            yield MemoryPanel(id="memory-panel", classes="panel")
            yield DevicePanel(id="device-panel", classes="panel")
        yield TrainingPanel(id="training-panel", classes="panel")
        yield WorkersPanel(id="workers-panel", classes="panel")

    def draw(
        self, run: LiveRun | None, history: LiveHistory, idle: TelemetrySample | None = None
    ) -> None:
        snapshot = run.snapshot if run is not None else None
        self.query_one(RunHeader).show(run)
        self.query_one(LatencyPanel).show(snapshot, history)
        self.query_one(ThroughputPanel).show(snapshot, history)
        self.query_one(DistributionPanel).show(snapshot)
        running = run is not None and run.result is None
        live = snapshot.telemetry if snapshot is not None and running else None
        telemetry = live or idle or _last(run)  # one sample for both panels: they agree
        spec = run.spec if run is not None else None
        self.query_one(MemoryPanel).show(snapshot, spec, telemetry)
        self.query_one(WorkersPanel).show(snapshot)
        self.query_one(TrainingPanel).show(snapshot)
        self.query_one(DevicePanel).show(telemetry, history)


def _last(run: LiveRun | None) -> TelemetrySample | None:
    if run is None or run.snapshot is None:
        return None
    return run.snapshot.telemetry
