"""Deterministic data for the TUI tests: known latencies, telemetry, Results, and a fake session
that feeds prepared snapshots and returns a prepared Result (no processes, no devices)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Label, Select

from engines.catalog import ModelInfo
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.result import Result
from profilers.snapshot import Snapshot, WorkerState
from profilers.stats import Summary, histogram_of_sorted, summarize
from profilers.telemetry.samples import (
    GpuSample,
    HostSample,
    NeuronCoreSample,
    NeuronSample,
    TelemetrySample,
)
from tui.app import PlmprofApp, create_app
from tui.widgets.runs_table import RunsTable

# 100 batch latencies, 20 ms plus an exponential tail (mean 4 ms), in a shuffled order: a skewed
# distribution whose percentiles are known (nearest rank: p50 is the 50th smallest).
LATENCIES: tuple[float, ...] = tuple(
    0.020 - 0.004 * math.log(1 - ((i * 37) % 100 + 0.5) / 100) for i in range(100)
)
WINDOW: tuple[float, ...] = LATENCIES[-40:]
MB = 1_000_000
GB = 1_000_000_000


def host_sample() -> HostSample:
    return HostSample(
        cpu_percent_per_core=(92.0, 35.0, 12.0, 71.0),
        cpu_percent=52.5,
        memory_used_bytes=12 * GB,
        memory_total_bytes=32 * GB,
        process_rss_bytes={4242: 431 * MB},
    )


def gpu_sample(index: int = 0) -> GpuSample:
    return GpuSample(
        index=index,
        name="NVIDIA H100 80GB HBM3",
        utilization_pct=87.0,
        memory_utilization_pct=40.0,
        memory_used_bytes=31 * GB,
        memory_total_bytes=80 * GB,
        power_w=512.0,
        power_limit_w=700.0,
        temperature_c=61.0,
        sm_clock_mhz=1980,
        memory_clock_mhz=2619,
    )


def neuron_sample() -> NeuronSample:
    cores = tuple(
        NeuronCoreSample(
            index=i,
            utilization_pct=pct,
            tensors_bytes=1200 * MB,
            constants_bytes=300 * MB,
            model_code_bytes=90 * MB,
            model_shared_scratchpad_bytes=512 * MB,
            runtime_memory_bytes=40 * MB,
        )
        for i, pct in enumerate((78.0, 64.0))
    )
    return NeuronSample(
        cores=cores,
        runtime_device_memory_bytes=4284 * MB,
        host_application_memory_bytes=210 * MB,
        host_dma_buffers_bytes=64 * MB,
        runtime_vcpu_user_pct=11.0,
        runtime_vcpu_system_pct=2.0,
        instance_type="inf2.xlarge",
        device_type="inferentia2",
        neuroncore_version="v2",
        device_count=1,
        device_memory_bytes=32 * GB,
    )


def telemetry(kind: str = "cpu") -> TelemetrySample:
    gpus = (gpu_sample(),) if kind == "cuda" else ()
    neuron = neuron_sample() if kind == "neuron" else None
    return TelemetrySample(t=100.0, host=host_sample(), gpus=gpus, neuron=neuron)


def summary(values: Sequence[float]) -> Summary:
    result = summarize(values)
    assert result is not None
    return result


def snapshot(
    progress: float = 0.6,
    *,
    device: str = "cpu",
    latencies: Sequence[float] = LATENCIES,
    window: Sequence[float] = WINDOW,
    phase: str = "measuring",
    status: str | None = None,
    kind: str = "cpu",
    message: str | None = None,
) -> Snapshot:
    on_device = kind != "cpu"
    worker = WorkerState(
        index=0,
        device=device,
        phase=phase,
        status=status,
        iterations=len(latencies),
        rss_bytes=448 * MB,
        device_allocated_bytes=1200 * MB if on_device else None,
        device_reserved_bytes=1536 * MB if on_device else None,
        message=message,
    )
    return Snapshot(
        elapsed_s=12.5,
        measured_s=6.0,
        progress=progress,
        batches=len(latencies),
        sequences=8 * len(latencies),
        latency_window=summary(window) if window else None,
        latency_total=summary(latencies) if latencies else None,
        sequences_per_s=266.7,
        tokens_per_s=69_333.0,
        residues_per_s=68_267.0,
        sequences_per_s_window=271.0,
        useful_mfu=0.123,
        energy_j=1520.0,
        joules_per_sequence=0.95,
        cost_per_million=2.05,
        workers=(worker,),
        telemetry=telemetry(kind),
        window_s=5.0,
        latency_histogram=histogram_of_sorted(sorted(latencies), 120) if latencies else None,
    )


def result(
    spec: RunSpec,
    status: str = "ok",
    *,
    run_id: str = "run000000001",
    latencies: Sequence[float] = LATENCIES,
    sequences_per_s: float = 266.7,
    message: str | None = None,
    scale: float = 1.0,
) -> Result:
    """A finished run's Result as ``build_result`` shapes it, from known latencies."""
    measured = bool(latencies)
    latency = summary([v * scale for v in latencies]).to_dict() if measured else None
    return Result(
        run_id=run_id,
        created_at="2026-01-01T00:00:00+00:00",
        status=status,
        spec=spec.to_dict(),
        options=MeasureOptions().to_dict(),
        environment={"host": "test"},
        message=message,
        latency=latency,
        throughput={
            "sequences_per_s": sequences_per_s / scale,
            "tokens_per_s": 69_333.0 / scale,
            "residues_per_s": 68_267.0 / scale,
        }
        if measured
        else None,
        memory={"unit": "MB", "max_ram": 448.0 * scale, "max_allocated": None},
        efficiency={"useful_mfu": 0.123 / scale} if measured else None,
        energy={"joules_per_sequence": 0.95 * scale} if measured else None,
        cost={"per_million_sequences": 2.05 * scale} if measured else None,
    )


@dataclass
class FakeSession:
    """Feeds ``snapshots`` to ``on_snapshot``; with ``hold`` it then waits for ``stop()``."""

    spec: RunSpec
    on_snapshot: Callable[[Snapshot], None]
    snapshots: Sequence[Snapshot]
    outcome: Result | Exception
    hold: bool = False
    stopped: threading.Event = field(default_factory=threading.Event)
    fed: threading.Event = field(default_factory=threading.Event)

    def run(self) -> Result:
        for item in self.snapshots:
            self.on_snapshot(item)
        self.fed.set()
        if self.hold:
            self.stopped.wait(timeout=30)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        if self.stopped.is_set():
            return replace(self.outcome, status="interrupted")
        return self.outcome

    def stop(self) -> None:
        self.stopped.set()


@dataclass
class FakeSessions:
    """A session factory: ``outcomes`` are used in turn (a Result, an exception, or a function
    of the spec making one); every session made is kept in ``made``."""

    snapshots: Sequence[Snapshot] = (snapshot(0.3), snapshot(0.6), snapshot(1.0))
    outcomes: list[Any] = field(default_factory=list)
    hold: bool = False
    made: list[FakeSession] = field(default_factory=list)

    def __call__(
        self, spec: RunSpec, options: MeasureOptions, *, on_snapshot: Callable[[Snapshot], None]
    ) -> FakeSession:
        number = len(self.made) + 1
        outcome: Any = self.outcomes.pop(0) if self.outcomes else None
        if outcome is None:
            outcome = result(spec, run_id=f"run{number:09d}")
        elif callable(outcome):
            outcome = outcome(spec)
        session = FakeSession(spec, on_snapshot, self.snapshots, outcome, hold=self.hold)
        self.made.append(session)
        return session


def published(info: ModelInfo) -> int:
    return info.expected_params


def no_problem(spec: RunSpec) -> None:
    return None


def make_app(
    tmp_path: Path, sessions: FakeSessions | None = None, **kwargs: Any
) -> tuple[PlmprofApp, FakeSessions]:
    """The app on fakes: detected devices given, published parameter counts, no idle sampler."""
    sessions = sessions or FakeSessions()
    kwargs.setdefault("devices", ["cpu"])
    kwargs.setdefault("default_device", "cpu")
    kwargs.setdefault("preflight", no_problem)
    app = create_app(
        session_factory=sessions,
        results_dir=tmp_path / "results",
        param_counter=published,
        **kwargs,
    )
    return app, sessions


def screen_text(app: PlmprofApp) -> str:
    """What the terminal shows right now, as plain text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


async def wait_for(
    pilot: Pilot[object], condition: Callable[[], bool], timeout: float = 20
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await pilot.pause(0.05)


async def settle(pilot: Pilot[object]) -> None:
    """Let validation and parameter counting finish."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.4)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def latency_row(shown: str, key: str) -> tuple[str, str]:
    """(last window, whole run) cells of the latency panel's ``key`` row as drawn."""
    for line in shown.splitlines():
        cells = [c.strip() for c in line.split("│") if c.strip()]
        if cells and cells[0].startswith(key + " ") and " ms" in cells[0]:
            parts = [p.strip() for p in cells[0][len(key) :].split("  ") if p.strip()]
            return parts[0], parts[1]
    raise AssertionError(f"no {key} row on the screen")


def table(pilot: Pilot[object]) -> RunsTable:
    return pilot.app.query_one(RunsTable)


async def run_once(pilot: Pilot[object], count: int) -> None:
    pilot.app.query_one("#model", Select).focus()
    await pilot.press("r")
    await wait_for(pilot, lambda: len(table(pilot).results) == count)


async def start_run(pilot: Pilot[object]) -> None:
    """Run what the form holds (on a held fake session) and wait for the first snapshot."""
    app = pilot.app
    assert isinstance(app, PlmprofApp)
    await settle(pilot)
    app.query_one("#model", Select).focus()
    await pilot.press("r")
    await wait_for(pilot, lambda: app.live_run is not None and app.live_run.snapshot is not None)
    await pilot.pause(0.4)


async def start_a_short_real_run(pilot: Pilot[object]) -> RunsTable:
    """Set the form for a short run (2 sequences of 32 residues a batch, 1 s, 3 batches), wait
    until it can run, press ``r``; the Runs table the Result will reach."""
    app = pilot.app
    for ident, value in (
        ("batch-value", "2"),
        ("workload-value", "32"),
        ("field-duration-s", "1"),
        ("field-min-iters", "3"),
        ("field-warmup", "1"),
    ):
        app.query_one(f"#{ident}", Input).value = value
    await settle(pilot)
    await wait_for(pilot, lambda: "✓" in str(app.query_one("#validation", Label).content), 60)
    app.query_one("#model", Select).focus()
    await pilot.press("r")
    return app.query_one(RunsTable)
