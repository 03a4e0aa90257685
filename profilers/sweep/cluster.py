"""Sweep points on a cluster: the driver loop that submits points to the nodes
(``profilers.sweep.nodes`` picks them), streams their Results back as each finishes, retries a
point once on another node when its node is lost, and cancels points past their deadline; and
``ClusterExecutor``, the sweep ``Executor`` built on it.

The cluster itself is behind ``ClusterBackend`` (Ray's is in ``profilers.sweep.ray_executor``),
so that this loop runs in tests with an in-process fake.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from engines.errors import PlmprofError
from engines.messages import Status
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.result import Result, figureless_result
from profilers.sweep.execution import PointRun, PointSnapshotCallback, StartCallback
from profilers.sweep.nodes import NodeInfo, NodePlanner
from profilers.sweep.points import SKIPPED, SweepPoint
from profilers.sweep.store import now

# The point's status when its task ended without a Result, by ``TaskEnd.kind``.
_END_STATUS = {"oom": Status.OOM, "refused": SKIPPED, "cancelled": Status.INTERRUPTED}


class ClusterLostError(PlmprofError):
    """The driver lost its cluster mid-sweep (what finished is kept)."""


# ---------------------------------------------------------------------------------------------
# The cluster, as the driver loop sees it
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskEnd:
    """How a submitted point ended: ``result`` when it returned one; else ``kind`` says why:
    ``lost`` (its worker or node died: retried once on another node), ``oom`` (the cluster's
    memory monitor ended it), ``refused`` (the node's own checks refused the point), ``error``,
    ``cancelled``. ``node_lost``: the node itself is gone (no point goes there again)."""

    result: Result | None = None
    kind: str = "result"
    message: str = ""
    node_lost: bool = False


class ClusterBackend(Protocol):
    """What the driver loop needs of a cluster. ``Handle`` is the backend's own task handle."""

    def nodes(self) -> list[NodeInfo]:
        """Alive nodes (raises ``ClusterLostError`` when the cluster cannot be reached)."""
        ...

    def submit(
        self, spec: RunSpec, options: MeasureOptions, node: NodeInfo, need: Mapping[str, float]
    ) -> Any: ...

    def wait(self, handles: Sequence[Any], timeout_s: float) -> list[Any]:
        """The handles (of ``handles``) that have ended, waiting at most ``timeout_s``."""
        ...

    def end(self, handle: Any) -> TaskEnd: ...

    def cancel(self, handle: Any) -> None: ...


# ---------------------------------------------------------------------------------------------
# The driver loop
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """A point waiting for a node: ``key`` identifies it for the caller; ``tries`` counts this
    submission; ``failed_on`` are the nodes lost under it before."""

    key: Any
    spec: RunSpec
    tries: int = 1
    failed_on: tuple[NodeInfo, ...] = ()
    lost_because: str = ""  # what the cluster said when it was last lost


@dataclass
class Attempt:
    """A point submitted to ``node``, since ``started`` (the clock's seconds)."""

    entry: Waiting
    node: NodeInfo
    need: dict[str, float]
    handle: Any
    started: float


@dataclass(frozen=True)
class ClusterEvent:
    """``started`` (a point went to ``node``; ``tries`` is 2 for its retry) or ``finished`` (with
    ``status``, ``result`` when one came back, and ``reason`` otherwise)."""

    kind: str
    key: Any
    node: NodeInfo | None
    tries: int = 1
    status: str | None = None
    result: Result | None = None
    reason: str | None = None


@dataclass
class ClusterRun:
    """Runs points on a cluster through ``backend``, at most ``max_tries`` times each when their
    node is lost, each cancelled after ``point_timeout_s`` (None: no deadline)."""

    backend: ClusterBackend
    options: MeasureOptions
    exclusive: bool = True
    point_timeout_s: float | None = None
    max_tries: int = 2
    poll_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    planner: NodePlanner = field(init=False)
    running: list[Attempt] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.planner = NodePlanner(self.backend.nodes(), exclusive=self.exclusive)

    def run(self, points: Sequence[tuple[Any, RunSpec]]) -> Iterator[ClusterEvent]:
        """Submit ``points`` (the caller's key, spec) as nodes free up and yield an event as each
        starts and ends. When the caller stops early (Ctrl-C, a lost cluster) it calls ``stop``."""
        waiting: list[Waiting] = [Waiting(key, spec) for key, spec in points]
        while waiting or self.running:
            for entry in list(waiting):
                node = self.planner.pick(entry.spec, avoid=[n.node_id for n in entry.failed_on])
                if node is not None:
                    waiting.remove(entry)
                    yield self._submit(entry, node)
            if not self.running:
                for entry in waiting:
                    yield self._never_ran(entry)
                return
            yield from self._collect(waiting)

    def stop(self, reason: str) -> list[ClusterEvent]:
        """Cancel every point still running; each ends ``interrupted`` with ``reason``."""
        events = []
        for attempt in list(self.running):
            with contextlib.suppress(PlmprofError):  # a lost cluster has nothing to cancel
                self.backend.cancel(attempt.handle)
            self._release(attempt)
            events.append(self._event(attempt, Status.INTERRUPTED, reason=reason))
        return events

    def _submit(self, entry: Waiting, node: NodeInfo) -> ClusterEvent:
        need = self.planner.request(entry.spec, node)
        handle = self.backend.submit(entry.spec, self.options, node, need)
        self.planner.take(node, need)
        attempt = Attempt(entry, node, need, handle, self.clock())
        self.running.append(attempt)
        return ClusterEvent("started", entry.key, node, entry.tries)

    def _never_ran(self, entry: Waiting) -> ClusterEvent:
        """A point that no alive node can take (the nodes that could were lost)."""
        avoid = {n.node_id for n in entry.failed_on}
        reason = self.planner.missing(entry.spec, avoid) or "no node of the cluster can take it"
        if not entry.failed_on:
            return ClusterEvent("finished", entry.key, None, entry.tries, SKIPPED, reason=reason)
        lost = ", ".join(n.name for n in entry.failed_on)
        return ClusterEvent(
            "finished",
            entry.key,
            entry.failed_on[-1],
            entry.tries,
            Status.CRASHED,
            reason=f"lost with its node or worker ({lost}: {entry.lost_because}) and {reason}",
        )

    def _release(self, attempt: Attempt) -> None:
        self.running.remove(attempt)
        self.planner.release(attempt.node, attempt.need)

    def _collect(self, waiting: list[Waiting]) -> Iterator[ClusterEvent]:
        """Wait for the next point to end (or the next deadline) and yield what ended."""
        timeout = self.poll_s
        if self.point_timeout_s is not None:
            now = self.clock()
            deadlines = [a.started + self.point_timeout_s - now for a in self.running]
            timeout = max(0.0, min([timeout, *deadlines]))
        ended = self.backend.wait([a.handle for a in self.running], timeout)
        lost: dict[str, bool] = {}  # node id -> the node itself is gone
        for attempt in [a for a in self.running if any(a.handle is h for h in ended)]:
            self._release(attempt)
            end = self.backend.end(attempt.handle)
            if end.kind == "lost":
                lost[attempt.node.node_id] = end.node_lost
            if end.kind == "lost" and attempt.entry.tries < self.max_tries:
                entry = attempt.entry
                failed_on = (*entry.failed_on, attempt.node)
                retry = Waiting(entry.key, entry.spec, entry.tries + 1, failed_on, end.message)
                waiting.insert(0, retry)
                continue
            yield self._finished(attempt, end)
        if lost:  # the cluster may not know yet: its heartbeats take a while to miss
            alive = {n.node_id for n in self.backend.nodes()}
            gone = {i for i, node_lost in lost.items() if node_lost}
            self.planner.mark_dead(gone | {i for i in self.planner.nodes if i not in alive})
        if self.point_timeout_s is not None:
            now = self.clock()
            for attempt in [a for a in self.running if now - a.started >= self.point_timeout_s]:
                self.backend.cancel(attempt.handle)
                self._release(attempt)
                reason = (
                    f"cancelled after --point-timeout {self.point_timeout_s:g} s "
                    f"on {attempt.node.name}"
                )
                yield self._event(attempt, Status.TIMEOUT, reason=reason)

    def _finished(self, attempt: Attempt, end: TaskEnd) -> ClusterEvent:
        if end.result is not None:
            return self._event(attempt, end.result.status, result=end.result)
        if end.kind == "lost":
            nodes = ", ".join(n.name for n in (*attempt.entry.failed_on, attempt.node))
            tries = attempt.entry.tries
            reason = f"its node or worker was lost {tries} times ({nodes}): {end.message}"
            return self._event(attempt, Status.CRASHED, reason=reason)
        status = _END_STATUS.get(end.kind, Status.ERROR)
        return self._event(attempt, status, reason=f"on {attempt.node.name}: {end.message}")

    def _event(
        self, attempt: Attempt, status: str, *, result: Result | None = None, reason: str = ""
    ) -> ClusterEvent:
        entry = attempt.entry
        return ClusterEvent(
            "finished", entry.key, attempt.node, entry.tries, status, result, reason or None
        )


def failure_result(
    spec: RunSpec, options: MeasureOptions, event: ClusterEvent, created_at: str
) -> Result:
    """The Result of a point that ended without one (crashed with its node, past its deadline,
    ended by the cluster's memory monitor): no figures, the status, the reason and the node."""
    node = event.node.to_dict() if event.node is not None else {}
    return figureless_result(
        spec,
        options,
        str(event.status),
        event.reason,
        environment={"host": node.get("host"), "node": node},
        created_at=created_at,
    )


STOPPED = "stopped by the user before a result was made; --resume runs it again"


@dataclass
class ClusterExecutor:
    """A sweep ``Executor`` on a cluster: the points spread over its nodes, each Result handed
    back as soon as its point ends, the node that ran it noted in the point (``node``)."""

    backend: ClusterBackend
    exclusive: bool = True
    point_timeout_s: float | None = None

    def _run(self, options: MeasureOptions) -> ClusterRun:
        return ClusterRun(
            self.backend, options, exclusive=self.exclusive, point_timeout_s=self.point_timeout_s
        )

    def nodes(self) -> list[NodeInfo]:
        return self.backend.nodes()

    def skip_unrunnable(self, points: Sequence[SweepPoint]) -> None:
        """Mark ``skipped``, with the reason, the points no node of the cluster can run."""
        planner = NodePlanner(self.backend.nodes(), exclusive=self.exclusive)
        for point in points:
            reason = planner.missing(point.spec) if point.spec is not None else None
            if reason is not None and point.status != SKIPPED:
                point.status, point.reason = SKIPPED, reason

    def execute(
        self,
        points: Sequence[SweepPoint],
        options: MeasureOptions,
        on_start: StartCallback,
        on_snapshot: PointSnapshotCallback,
    ) -> Iterator[PointRun]:
        run = self._run(options)
        by_index = {point.index: point for point in points}
        started: dict[int, float] = {}
        try:
            for event in run.run([(p.index, p.spec) for p in points if p.spec is not None]):
                point = by_index[event.key]
                if event.kind == "started":
                    started[point.index] = time.monotonic()
                    point.node = event.node.name if event.node else None
                    on_start(point)
                else:
                    yield self._point_run(point, event, options, started)
        except KeyboardInterrupt:
            for event in run.stop(STOPPED):
                yield self._point_run(by_index[event.key], event, options, started)
        except ClusterLostError:
            run.stop("the cluster was lost")  # points still running stay to be run again
            raise
        finally:
            run.stop(STOPPED)  # the sweep closed the iterator early: run nothing more

    def _point_run(
        self,
        point: SweepPoint,
        event: ClusterEvent,
        options: MeasureOptions,
        started: dict[int, float],
    ) -> PointRun:
        wall = time.monotonic() - started.get(point.index, time.monotonic())
        if event.node is not None:
            point.node = event.node.name
        result = event.result
        status = str(event.status)
        made_none = status in (Status.INTERRUPTED, SKIPPED)  # resume runs these again
        if result is None and not made_none and point.spec is not None:
            result = failure_result(point.spec, options, event, now())
        if result is not None:
            return PointRun.of(point, result, wall)
        return PointRun(point, None, status, event.reason, wall)
