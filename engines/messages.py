"""What the parent hands a worker process (``WorkerTask``) and the messages the worker sends up its
pipe. Small, picklable, no statistics, nothing heavy imported (a worker reads these before its
device is pinned).

Timestamps are ``time.monotonic()`` seconds: CLOCK_MONOTONIC, shared by every process on the host.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from engines.batching import Batch, PackedBatch
from engines.structure import ModelShape

PlannedBatch = Batch | PackedBatch


class Status(StrEnum):
    """How a run (or one worker of it) ended. One list, used everywhere."""

    OK = "ok"
    OOM = "oom"
    COMPILE_FAILED = "compile_failed"
    UNSUPPORTED = "unsupported"
    ERROR = "error"
    CRASHED = "crashed"
    INTERRUPTED = "interrupted"
    TIMEOUT = "timeout"  # a sweep point cancelled past its deadline (--point-timeout)


@dataclass(frozen=True)
class WorkerTask:
    """What the parent hands one worker process; ``env`` is set before any runtime loads;
    ``parent_pid`` is the process the worker dies with (``engines.worker.die_with_parent``)."""

    spec: dict[str, object]
    index: int
    device: str
    env: dict[str, str]
    parent_pid: int | None = None


@dataclass(frozen=True)
class WorkloadSummary:
    source: str
    sequences: int
    truncated: int
    max_residues: int | None
    longest: int
    batches: int
    residues: int
    real_tokens: int
    padded_tokens: int


@dataclass(frozen=True)
class Loaded:
    worker: int
    device: str
    device_name: str
    load_s: float
    shape: ModelShape
    attention: str
    rss_bytes: int
    device_allocated_bytes: int | None
    workload: WorkloadSummary
    batches: tuple[PlannedBatch, ...]
    lengths: tuple[int, ...]
    special_tokens: int
    threads: int
    # The compute units the model runs on ("gpu:0", "neuroncore:3", "cpu"), named alike in every
    # worker; the run's peak is the per-unit peak times the units all workers occupy together.
    compute_units: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Compiling:
    worker: int
    stage: str
    done: int
    total: int


@dataclass(frozen=True)
class Compiled:
    worker: int
    seconds: float
    recompilations: int


@dataclass(frozen=True)
class WarmedUp:
    """Warm-up is over. ``first_call_s`` is the cold first call, reported apart from latency."""

    worker: int
    first_call_s: float
    calls: int
    seconds: float


@dataclass(frozen=True)
class BatchDone:
    """One timed call on batch number ``batch`` of the plan sent in ``Loaded``."""

    worker: int
    start: float
    end: float
    batch: int


@dataclass(frozen=True)
class StepDone:
    """One training step (``grad_accum`` batches of the plan, by number) on the shared clock.

    ``phases``: seconds of forward, backward and optimizer, or None where the device runs them as
    one graph. ``skipped``: the loss scaler skipped the optimizer step (inf/NaN gradients).
    ``device_peak_bytes``: the allocator's peak so far (CUDA; since step 1 from step 1 on)."""

    worker: int
    step: int
    start: float
    end: float
    batches: tuple[int, ...]
    loss: float
    warmup: bool
    phases: dict[str, float] | None = None
    skipped: bool = False
    device_peak_bytes: int | None = None


@dataclass(frozen=True)
class TrainingInfo:
    """Plain, JSON-ready facts of a training run (what trains, memory after the first step,
    held-out evaluation, parity); later messages add keys to earlier ones."""

    worker: int
    report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Memory:
    worker: int
    rss_peak_bytes: int
    device_max_allocated_bytes: int | None = None
    device_max_reserved_bytes: int | None = None


@dataclass(frozen=True)
class Quality:
    """Drift of the run's outputs against an fp32 eager reference with the same weights and inputs.

    ``compared`` names what was compared, ``reference`` how the reference was made; ``warning`` is
    set when the drift is large enough to matter (or the reference could not be made)."""

    worker: int
    metrics: dict[str, float | None] = field(default_factory=dict)
    compared: str = ""
    reference: str = ""
    warning: str | None = None


@dataclass(frozen=True)
class Optimized:
    """What the optimizations actually did to the model: plain, JSON-ready data for the Result
    (precision, int8, pruning, attention, compile). May be sent again with later figures."""

    worker: int
    report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Failed:
    worker: int
    status: Status
    message: str
    detail: str = ""


@dataclass(frozen=True)
class Finished:
    worker: int
    status: Status
    iterations: int


@dataclass(frozen=True)
class Phase:
    """The worker entered start-up phase ``name`` at ``t`` (``time.monotonic()``): one of
    ``STARTUP_PHASES``. Each phase lasts until the next begins; ``warming`` until the first
    measured batch starts."""

    worker: int
    name: str
    t: float


# In order: libraries imported (torch, transformers); batches planned and tokenised; model built
# and its weights loaded or initialised; optimizations applied; compiled (Neuron, torch.compile;
# only when asked); cold first call and warm-up.
STARTUP_PHASES = ("importing", "planning", "building", "optimizing", "compiling", "warming")


WorkerMessage = (
    Phase
    | Loaded
    | Compiling
    | Compiled
    | WarmedUp
    | BatchDone
    | StepDone
    | TrainingInfo
    | Memory
    | Quality
    | Optimized
    | Failed
    | Finished
)
