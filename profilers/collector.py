"""Gathers the messages of a run's workers: per-worker state, batch timings, memory, outcomes."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from engines.messages import (
    BatchDone,
    Compiled,
    Compiling,
    Failed,
    Finished,
    Loaded,
    Memory,
    Optimized,
    Phase,
    Quality,
    Status,
    StepDone,
    TrainingInfo,
    WarmedUp,
    WorkerMessage,
)
from profilers.stats import RollingPercentiles
from profilers.throughput import BatchTiming

# When workers end differently, the run takes the most serious status.
_SEVERITY = (
    Status.OK,
    Status.INTERRUPTED,
    Status.UNSUPPORTED,
    Status.ERROR,
    Status.COMPILE_FAILED,
    Status.CRASHED,
    Status.OOM,
)


@dataclass
class WorkerRecord:
    index: int
    device: str
    phase: str = "starting"
    loaded: Loaded | None = None
    warmed: WarmedUp | None = None
    compiled: Compiled | None = None
    compiling: Compiling | None = None
    memory: Memory | None = None
    quality: Quality | None = None
    optimizations: dict[str, Any] | None = None
    status: Status | None = None
    message: str | None = None
    detail: str = ""
    iterations: int = 0
    pid: int | None = None
    spawned_at: float | None = None  # when the parent started the process (monotonic)
    startup: list[tuple[str, float]] = field(default_factory=list)  # (phase, began) in order
    first_start: float | None = None  # the first measured batch's start
    # Training runs: every step in order (warm-up ones too) and the worker's training facts.
    steps: list[StepDone] = field(default_factory=list)
    training: dict[str, Any] | None = None


@dataclass
class RunCollector:
    """Holds everything the workers said. Feed it with :meth:`handle`; it computes nothing heavy."""

    devices: tuple[str, ...]
    workers: dict[int, WorkerRecord] = field(init=False)
    timings: list[BatchTiming] = field(default_factory=list)
    batch_latency: RollingPercentiles = field(default_factory=RollingPercentiles)
    sequence_latency: RollingPercentiles = field(default_factory=RollingPercentiles)
    # (worker, batch number in that worker's plan) -> times measured
    batch_counts: Counter[tuple[int, int]] = field(default_factory=Counter)
    # The first start and last end over every measured batch, kept as batches arrive.
    measured_window: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        self.workers = {i: WorkerRecord(i, d) for i, d in enumerate(self.devices)}

    def handle(self, message: WorkerMessage) -> None:
        record = self.workers[message.worker]
        match message:
            case Phase():
                record.phase = message.name
                record.startup.append((message.name, message.t))
            case BatchDone():
                self._timed(record, message.start, message.end, (message.batch,))
            case StepDone():
                record.steps.append(message)
                if not message.warmup:
                    record.phase = "measuring"
                    self._timed(record, message.start, message.end, message.batches)
            case TrainingInfo():
                record.training = {**(record.training or {}), **message.report}
            case Loaded():
                record.loaded = message
                record.phase = "warming"
            case Compiling():
                record.compiling = message
                record.phase = "compiling"
            case Compiled():
                record.compiled = message
            case WarmedUp():
                record.warmed = message
                record.phase = "measuring"
            case Memory():
                record.memory = message
            case Quality():
                record.quality = message
            case Optimized():
                record.optimizations = message.report
            case Failed():
                self._end(record, message.status, message.message)
                record.detail = message.detail
            case Finished():
                self._end(record, message.status, None)

    def _timed(
        self, record: WorkerRecord, start: float, end: float, numbers: tuple[int, ...]
    ) -> None:
        """One timed call (inference: one batch; training: one step over ``numbers``)."""
        if record.loaded is None:
            raise ValueError(f"worker {record.index} sent a batch before its plan")
        batches = [record.loaded.batches[n] for n in numbers]
        sequences = sum(b.sequences for b in batches)
        if record.first_start is None:
            record.first_start = start
        record.iterations += 1
        for number in numbers:
            self.batch_counts[(record.index, number)] += 1
        latency = end - start
        self.timings.append(
            BatchTiming(
                record.index,
                start,
                end,
                sequences,
                sum(b.residues for b in batches),
                sum(b.padded_tokens for b in batches),
            )
        )
        window = self.measured_window or (start, end)
        self.measured_window = (min(window[0], start), max(window[1], end))
        self.batch_latency.add(end, latency)
        if sequences:
            self.sequence_latency.add(end, latency / sequences)

    def _end(self, record: WorkerRecord, status: Status, message: str | None) -> None:
        if record.status is None:
            record.status = status
            record.message = message
            record.phase = "done"

    def mark_ended(self, index: int, status: Status, message: str) -> None:
        """End a worker that cannot say so itself (it died, or was ended for the user)."""
        self._end(self.workers[index], status, message)

    def mark_loading(self, index: int, pid: int | None) -> None:
        record = self.workers[index]
        record.pid = pid
        record.spawned_at = time.monotonic()
        if record.phase == "starting":
            record.phase = "loading"

    @property
    def done(self) -> bool:
        return all(w.status is not None for w in self.workers.values())

    def status(self) -> tuple[Status, str | None]:
        """The run's status: the most serious of its workers', with that worker's message."""
        ended = [w for w in self.workers.values() if w.status is not None]
        if not ended:
            return Status.INTERRUPTED, "no worker reported an outcome"
        worst = max(ended, key=lambda w: _SEVERITY.index(w.status or Status.OK))
        message = worst.message
        if len(self.workers) > 1 and message:
            message = f"worker {worst.index} ({worst.device}): {message}"
        return worst.status or Status.OK, message
