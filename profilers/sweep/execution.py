"""How a sweep's points run: the ``Executor`` interface and the local executor (one point at a
time, each in fresh worker processes on this machine).

An executor takes the points to run and yields a ``PointRun`` for each as it finishes (in the
order they finish, which need not be the order given). It never writes files: the sweep saves
each Result as it arrives, so what an executor hands back is never lost. Contract:

- every point given has a ``spec`` (the sweep hands over runnable points only);
- ``on_start(point)`` is called when a point starts, ``on_snapshot(point, snapshot)`` with live
  snapshots when the executor has them (an executor without live figures never calls it);
- a point that made no Result is yielded with ``result=None``, a status and a reason;
- Ctrl-C (``KeyboardInterrupt``) in a running point: yield that point as ``interrupted`` (with
  the Result made so far, if any) and stop; the sweep also stops when it closes the iterator
  early, and the executor then runs nothing more.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from engines.errors import PlmprofError
from engines.failures import classify
from engines.messages import Status
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.result import Result
from profilers.snapshot import Snapshot
from profilers.sweep.points import SKIPPED, SweepPoint

SnapshotCallback = Callable[[Snapshot], None]
Runner = Callable[[RunSpec, MeasureOptions, SnapshotCallback | None], Result]
StartCallback = Callable[[SweepPoint], None]
PointSnapshotCallback = Callable[[SweepPoint, Snapshot], None]


def session_runner(
    spec: RunSpec, options: MeasureOptions, on_snapshot: SnapshotCallback | None
) -> Result:
    """Run one point in fresh worker processes (the default runner)."""
    from profilers.session import Session

    return Session(spec, options, on_snapshot=on_snapshot).run()


@dataclass(frozen=True)
class PointRun:
    """What became of one point: its Result, or (``result`` None) the status and reason of a
    point that made none. ``wall_s``: seconds from its start to its end."""

    point: SweepPoint
    result: Result | None
    status: str
    reason: str | None
    wall_s: float

    @classmethod
    def of(cls, point: SweepPoint, result: Result, wall_s: float) -> PointRun:
        return cls(point, result, result.status, result.message, wall_s)


class Executor(Protocol):
    """Runs sweep points; see the module's docstring for the contract."""

    def execute(
        self,
        points: Sequence[SweepPoint],
        options: MeasureOptions,
        on_start: StartCallback,
        on_snapshot: PointSnapshotCallback,
    ) -> Iterator[PointRun]: ...


def no_result(exc: BaseException) -> tuple[str, str]:
    """The status and reason of a point whose run raised ``exc`` instead of making a Result:
    ``engines.failures.classify``'s, except that a plmprof error (the preflight check fails now:
    a file gone, a device busy) skips the point."""
    status, message = classify(exc, in_profiler=True)
    if status == Status.INTERRUPTED:
        return status, "stopped by the user before a result was made; --resume runs it again"
    if isinstance(exc, PlmprofError):
        return SKIPPED, message
    return status, f"the sweep could not run this point: {message}"


class LocalExecutor:
    """One point at a time on this machine, through ``runner`` (fresh worker processes each)."""

    def __init__(self, runner: Runner = session_runner) -> None:
        self.runner = runner

    def execute(
        self,
        points: Sequence[SweepPoint],
        options: MeasureOptions,
        on_start: StartCallback,
        on_snapshot: PointSnapshotCallback,
    ) -> Iterator[PointRun]:
        for point in points:
            assert point.spec is not None
            started = time.monotonic()
            on_start(point)

            def snapshot(value: Snapshot, at: SweepPoint = point) -> None:
                on_snapshot(at, value)

            try:
                result = self.runner(point.spec, options, snapshot)
            except Exception as exc:  # a bug must not cost the rest of the sweep
                status, reason = no_result(exc)
                yield PointRun(point, None, status, reason, time.monotonic() - started)
                continue
            except KeyboardInterrupt as exc:
                status, reason = no_result(exc)
                yield PointRun(point, None, status, reason, time.monotonic() - started)
                return
            yield PointRun.of(point, result, time.monotonic() - started)


# Seconds a point takes beyond its measured duration before any point has finished: spawning the
# worker, importing torch (about 5 s here), loading the model and warming up.
DEFAULT_OVERHEAD_S = 12.0


def overhead_s(finished: Sequence[tuple[RunSpec, float]]) -> float:
    """Mean seconds the finished points took beyond their measured duration."""
    extra = [max(0.0, wall - spec.duration_s) for spec, wall in finished]
    return sum(extra) / len(extra) if extra else DEFAULT_OVERHEAD_S


def time_left_s(
    pending: Sequence[RunSpec],
    finished: Sequence[tuple[RunSpec, float]],
    current: RunSpec | None = None,
    current_elapsed_s: float = 0.0,
) -> float:
    """Seconds the sweep still needs: each pending point's duration plus the overhead seen so far;
    the running point counts with what it has left."""
    extra = overhead_s(finished)
    left = sum(spec.duration_s + extra for spec in pending)
    if current is not None:
        left += max(0.0, current.duration_s + extra - current_elapsed_s)
    return left
