"""What the interactive app works with besides its screens: the session it runs (the real one,
with workers logging to a file, or a fake with the same shape), the checks and readings it asks
for in threads, and the messages those threads post to it."""

from __future__ import annotations

from collections.abc import Callable
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any, Protocol

from textual.message import Message

from engines.catalog import ModelInfo
from engines.detect import available_devices, best_device
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.result import Result
from profilers.snapshot import Snapshot
from profilers.telemetry.samples import TelemetrySample
from tui.worker_log import log_workers_in, quiet_worker

SnapshotCallback = Callable[[Snapshot], None]
Sampler = Callable[[], TelemetrySample | None]


class SessionLike(Protocol):
    def run(self) -> Result: ...

    def stop(self) -> None: ...


class SessionFactory(Protocol):
    """``profilers.session.Session`` itself, or a fake with the same call shape."""

    def __call__(
        self, spec: RunSpec, options: MeasureOptions, *, on_snapshot: SnapshotCallback
    ) -> SessionLike: ...


class SnapshotReady(Message):
    """A live snapshot from the run's thread. Queued ones of the same run merge into the newest."""

    def __init__(self, token: int, snapshot: Snapshot) -> None:
        super().__init__()
        self.token = token
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotReady) and message.token == self.token


class RunFinished(Message):
    """A run's Result, already saved (``saved``: where) or not (``save_error``: why)."""

    def __init__(
        self, token: int, result: Result, saved: Path | None, save_error: str | None
    ) -> None:
        super().__init__()
        self.token = token
        self.result = result
        self.saved = saved
        self.save_error = save_error


class IdleSample(Message):
    def __init__(self, sample: TelemetrySample | None) -> None:
        super().__init__()
        self.sample = sample

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, IdleSample)


_COUNTS: dict[str, int] = {}


def counted_parameters(info: ModelInfo) -> int:
    """``count_parameters`` (about half a second for a big model), remembered per model."""
    from engines.builders import count_parameters  # torch and transformers: not at start-up

    if info.id not in _COUNTS:
        _COUNTS[info.id] = count_parameters(info)
    return _COUNTS[info.id]


def terminal_session(
    spec: RunSpec, options: MeasureOptions, *, on_snapshot: SnapshotCallback
) -> SessionLike:
    """The real Session, with workers whose output goes to a log instead of over the screen."""
    from profilers.session import Session

    return Session(spec, options, on_snapshot=on_snapshot, worker_target=quiet_worker)


def check_runnable(spec: RunSpec) -> Any:
    """``engines.preflight.check_runnable``, imported when first used (it loads torch), so the
    app is on screen at once and the first check runs in its thread."""
    from engines.preflight import check_runnable as check

    return check(spec)


def prepare_process(results_dir: Path) -> None:
    """What must happen before the app takes the terminal over.

    While it runs, a Textual app replaces ``sys.stderr`` with an object whose ``fileno()`` is -1,
    and multiprocessing starts its resource tracker (on the first spawned worker) passing that
    descriptor on: the spawn then fails with "bad value(s) in fds_to_keep". Starting the tracker
    now, with the real stderr, avoids it. Workers' output is logged beside the results.
    """
    resource_tracker.ensure_running()
    log_workers_in(results_dir)


def detect_devices() -> tuple[list[str], str]:
    return available_devices(), best_device()
