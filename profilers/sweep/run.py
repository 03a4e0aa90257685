"""A sweep: the grid's checked points run through an executor into a sweep folder, saved after
every point so that nothing measured is lost and a stopped sweep can resume.

No printing here: progress goes to an ``on_event`` callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines.messages import Status
from engines.preflight import check_runnable
from engines.spec import RunSpec
from profilers.files import WriteError
from profilers.layout import SWEEP_KIND
from profilers.result import Result
from profilers.snapshot import Snapshot
from profilers.sweep.execution import Executor, LocalExecutor, PointRun, time_left_s
from profilers.sweep.grid import SweepGrid
from profilers.sweep.points import SKIPPED, Check, SweepPoint, expand
from profilers.sweep.store import (
    SWEEP_SCHEMA_VERSION,
    FolderLock,
    figures,
    now,
    prepare_folder,
    remove_temporaries,
    reuse_existing,
    save_sweep,
    saved_created_at,
    set_aside,
    skipped_entries,
)


@dataclass(frozen=True)
class SweepEvent:
    """What the sweep tells its progress display.

    ``kind``: ``point_started``, ``snapshot``, ``point_finished``, ``probe_started``,
    ``probe_finished``, ``finished``. ``done``/``total`` count the points this invocation runs;
    ``time_left_s`` is None when unknown (max-batch searches)."""

    kind: str
    point: SweepPoint | None
    done: int
    total: int
    elapsed_s: float
    time_left_s: float | None = None
    snapshot: Snapshot | None = None
    result: Result | None = None


EventCallback = Callable[[SweepEvent], None]


@dataclass(frozen=True)
class SweepOutcome:
    points: list[SweepPoint]
    interrupted: bool
    ran: int

    def count(self, status: str) -> int:
        return sum(p.status == status for p in self.points)

    @property
    def statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for point in self.points:
            counts[point.status] = counts.get(point.status, 0) + 1
        return counts


class Sweep:
    """A grid expanded into checked points, run into ``folder``."""

    def __init__(
        self,
        grid: SweepGrid,
        folder: Path,
        *,
        check: Check | None = check_runnable,
        points: list[SweepPoint] | None = None,
    ) -> None:
        self.grid = grid
        self.folder = Path(folder)
        self.options = grid.measure_options()
        self.points = points if points is not None else expand(grid, check)
        self.created_at = now()
        self.interrupted = False
        self.write_error: str | None = None  # why the sweep stopped saving, if it did
        self.set_aside: list[Path] = []  # Results moved to superseded/ by open()
        self._lock = FolderLock(self.folder)
        self._todo: list[SweepPoint] | None = None

    @property
    def runnable(self) -> list[SweepPoint]:
        return [p for p in self.points if p.status != SKIPPED]

    @property
    def skipped(self) -> list[SweepPoint]:
        return [p for p in self.points if p.status == SKIPPED]

    def open(self, resume: bool, *, set_aside_changed: bool = False) -> list[SweepPoint]:
        """Prepare the folder and hold it (``FolderLock``: a second plmprof is refused); with
        ``resume``, take saved Results, and with ``set_aside_changed`` move the saved Results
        this grid no longer has into ``superseded/``. Returns the points to run (``run`` opens
        the sweep itself when this was not called first)."""
        if self._todo is not None:
            return self._todo
        prepare_folder(self.folder, resume)
        self._lock = FolderLock(self.folder).acquire()
        if resume:
            remove_temporaries(self.folder)
            self.created_at = saved_created_at(self.folder) or self.created_at
            if set_aside_changed:
                self.set_aside = set_aside(self.folder, self.points)
            for point in self.runnable:
                reuse_existing(self.folder, point)
        self._todo = [p for p in self.runnable if not p.done]
        return self._todo

    def run(
        self,
        executor: Executor | None = None,
        on_event: EventCallback | None = None,
        *,
        resume: bool = False,
    ) -> SweepOutcome:
        """Run every pending point through ``executor`` (the local one by default). A failed
        point (oom, crash…) is that point's Result and the sweep goes on; Ctrl-C stops the
        running point (its measurements are kept as an ``interrupted`` Result) and ends the
        sweep. The sweep files are written after every point and before returning, whatever
        happens; when they cannot be (a full disk), the sweep stops and ``write_error`` says
        why."""
        executor = executor or LocalExecutor()
        todo = self.open(resume)
        began = time.monotonic()
        running: dict[int, float] = {}  # point index -> when it started
        settled: set[int] = set()
        finished: list[tuple[RunSpec, float]] = []
        ran = 0

        def emit(kind: str, point: SweepPoint | None, **extra: Any) -> None:
            if on_event is None:
                return
            left = 0.0
            if kind != "finished":
                started = running.get(point.index) if point is not None else None
                current = point.spec if point is not None and started is not None else None
                current_s = time.monotonic() - started if started is not None else 0.0
                pending = [
                    p.spec
                    for p in todo
                    if p.spec is not None and p.index not in settled and p.index not in running
                ]
                left = time_left_s(pending, finished, current, current_s)
            elapsed = time.monotonic() - began
            on_event(SweepEvent(kind, point, ran, len(todo), elapsed, left, **extra))

        def on_start(point: SweepPoint) -> None:
            running[point.index] = time.monotonic()
            emit("point_started", point)

        def on_snapshot(point: SweepPoint, snapshot: Snapshot) -> None:
            emit("snapshot", point, snapshot=snapshot)

        try:
            self.save()
            for outcome in executor.execute(todo, self.options, on_start, on_snapshot):
                running.pop(outcome.point.index, None)
                settled.add(outcome.point.index)
                self._record(outcome)
                ran += 1
                if outcome.result is not None and outcome.point.spec is not None:
                    finished.append((outcome.point.spec, outcome.wall_s))
                self.save()
                emit("point_finished", outcome.point, result=outcome.result)
                if outcome.point.status == Status.INTERRUPTED:
                    self.interrupted = True
                    break
        except KeyboardInterrupt:
            self.interrupted = True
        except WriteError as exc:  # a full disk: what is saved stays, --resume goes on later
            self.write_error = str(exc)
        finally:
            try:
                self.save()
            except WriteError as exc:
                self.write_error = self.write_error or str(exc)
            self._lock.release()
        emit("finished", None)
        return SweepOutcome(self.points, self.interrupted, ran)

    def _record(self, outcome: PointRun) -> None:
        """Save the point's Result (when it made one) and note what became of it."""
        point, result = outcome.point, outcome.result
        if result is not None:  # saved first: a point is never marked done without its file
            assert point.file is not None
            result.save(self.folder / point.file)
        point.wall_s = outcome.wall_s
        point.status, point.reason = outcome.status, outcome.reason
        if result is None:
            return
        point.run_id = result.run_id
        if result.status == Status.INTERRUPTED and not point.reason:
            point.reason = "stopped by the user (what was measured is kept); --resume runs it again"
        point.figures = figures(result)

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for point in self.points:
            counts[point.status] = counts.get(point.status, 0) + 1
        return {
            "schema_version": SWEEP_SCHEMA_VERSION,
            "kind": SWEEP_KIND,
            "created_at": self.created_at,
            "updated_at": now(),
            "interrupted": self.interrupted,
            "grid": self.grid.to_dict(),
            "size": len(self.points),
            "counts": counts,
            "points": [p.to_dict() for p in self.points],
            "skipped": skipped_entries(self.skipped),
        }

    def save(self) -> None:
        """Write ``sweep.json``, ``sweep.csv`` and ``report.md`` (atomically, each)."""
        save_sweep(self.folder, self.to_dict(), self.points)
