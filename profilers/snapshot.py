"""A live view of a run in progress: what the TUI draws and the CLI prints as a status line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from profilers.stats import Histogram, Summary
from profilers.telemetry.samples import TelemetrySample


@dataclass(frozen=True)
class WorkerState:
    index: int
    device: str
    phase: str  # one of PHASES, or done
    status: str | None
    iterations: int
    rss_bytes: int | None
    device_allocated_bytes: int | None
    device_reserved_bytes: int | None
    message: str | None = None


# A worker's phases in the order a run goes through them (then ``done``).
PHASES = (
    "starting",
    "loading",  # the process is starting (the interpreter, unpickling the task)
    "importing",
    "planning",
    "building",
    "optimizing",
    "compiling",
    "warming",
    "measuring",
)


@dataclass(frozen=True)
class Snapshot:
    """``latency_window``: batches finished in the last ``window_s`` seconds;
    ``sequences_per_s_window``: work spread over each batch's span, over the last ``window_s``
    seconds up to where every worker's work is known (None only before the first batch);
    ``latency_total`` and the headline throughput: everything measured so far."""

    elapsed_s: float
    measured_s: float
    progress: float  # 0..1 of the run's stopping rule
    batches: int
    sequences: int
    latency_window: Summary | None
    latency_total: Summary | None
    sequences_per_s: float | None
    tokens_per_s: float | None
    residues_per_s: float | None
    sequences_per_s_window: float | None
    useful_mfu: float | None
    energy_j: float | None
    joules_per_sequence: float | None
    cost_per_million: float | None
    workers: tuple[WorkerState, ...]
    telemetry: TelemetrySample | None
    window_s: float
    notes: tuple[str, ...] = field(default=())
    # Sequences of the workload cut to the model's window of ``max_residues`` (0: none).
    truncated: int = 0
    max_residues: int | None = None
    # Every measured batch latency so far, binned over its range (a real count, not a model).
    latency_histogram: Histogram | None = None
    # Training runs: loss history and recent phase medians (profilers.training.live).
    training: dict[str, Any] | None = None

    @property
    def phase(self) -> str:
        """The phase of the least advanced worker (``PHASES`` order); once all ended, ``done`` or
        the status of a worker that did not end ok (``interrupted``, ``oom``…)."""
        phases = {w.phase for w in self.workers}
        running = next((phase for phase in PHASES if phase in phases), None)
        if running is not None:
            return running
        # Ended: say how (interrupted, oom, …) when a worker did not end ok, never a plain "done".
        ended = [w.status for w in self.workers if w.status not in (None, "ok")]
        return str(ended[0]) if ended else "done"

    @property
    def time_left_s(self) -> float | None:
        """Seconds left by the run's stopping rule, from the progress made over the measured
        time; None before measuring begins."""
        if self.phase != "measuring" or self.progress <= 0 or self.measured_s <= 0:
            return None
        return self.measured_s * (1 - self.progress) / self.progress

    def to_dict(self) -> dict[str, Any]:
        def summary(s: Summary | None) -> dict[str, object] | None:
            return None if s is None else s.to_dict()

        return {
            "elapsed_s": self.elapsed_s,
            "measured_s": self.measured_s,
            "phase": self.phase,
            "progress": self.progress,
            "batches": self.batches,
            "sequences": self.sequences,
            "latency_window": summary(self.latency_window),
            "latency_total": summary(self.latency_total),
            "latency_histogram": (
                None if self.latency_histogram is None else self.latency_histogram.to_dict()
            ),
            "window_s": self.window_s,
            "sequences_per_s": self.sequences_per_s,
            "tokens_per_s": self.tokens_per_s,
            "residues_per_s": self.residues_per_s,
            "sequences_per_s_window": self.sequences_per_s_window,
            "useful_mfu": self.useful_mfu,
            "energy_j": self.energy_j,
            "joules_per_sequence": self.joules_per_sequence,
            "cost_per_million": self.cost_per_million,
            "workers": [w.__dict__ for w in self.workers],
            "telemetry": None if self.telemetry is None else self.telemetry.to_dict(),
            "notes": list(self.notes),
            "training": self.training,
            "truncated": self.truncated,
            "max_residues": self.max_residues,
        }
