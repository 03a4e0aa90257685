"""Sweep points spread over the nodes of a cluster: which node may run which point, what it is
given, and the driver loop that submits points, streams their Results back as each finishes,
retries a point once when its node is lost, and cancels points past their deadline.

The cluster itself is behind ``ClusterBackend`` (Ray's is in ``profilers.sweep.ray_executor``),
so that this loop runs in tests with an in-process fake.

Placement: the driver picks the node of every point and pins the point to it. With exclusive
nodes (the default) a node runs one point at a time and the point is given all of the node's CPUs:
two points timed side by side on one host would corrupt each other's figures. Otherwise a point
takes one CPU (and its accelerators) and several may share a node.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from engines.errors import PlmprofError
from engines.messages import Status
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.result import Result
from profilers.sweep.points import SKIPPED

# The resource a node reports for each accelerator family (Ray's names: ``GPU`` is built in,
# ``neuron_cores`` is Ray's Neuron accelerator, ``HPU`` Ray's Gaudi accelerator).
FAMILY_RESOURCE = {"cuda": "GPU", "neuron": "neuron_cores", "hpu": "HPU"}
FAMILY_WORDS = {"cpu": "CPUs", "cuda": "GPUs", "neuron": "NeuronCores", "hpu": "Gaudi HPUs"}
# Variables the cluster sets for a task to say which accelerators it was given.
VISIBILITY_VARIABLES = ("CUDA_VISIBLE_DEVICES", "NEURON_RT_VISIBLE_CORES", "HABANA_VISIBLE_MODULES")


# The point's status when its task ended without a Result, by ``TaskEnd.kind``.
_END_STATUS = {"oom": Status.OOM, "refused": SKIPPED, "cancelled": Status.INTERRUPTED}


class ClusterLostError(PlmprofError):
    """The driver lost its cluster mid-sweep (what finished is kept)."""


@dataclass(frozen=True)
class NodeInfo:
    """A node as the cluster reports it: ``resources`` are its totals (``CPU``, ``GPU``…)."""

    node_id: str
    host: str
    address: str = ""
    resources: Mapping[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.host} (node {self.node_id[:8]})"

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "ray_node_id": self.node_id, "address": self.address}


def device_family(spec: RunSpec) -> str:
    """``cpu``, ``cuda``, ``neuron`` or ``hpu``: the accelerator family the point's workers use."""
    families = [d.partition(":")[0] for d in spec.worker_devices()]
    return next((f for f in families if f != "cpu"), "cpu")


def devices_needed(spec: RunSpec, node: NodeInfo | None = None) -> int:
    """How many of its family's devices a point takes: one per worker on plain ``neuron``, the
    highest index plus one for numbered devices (``cuda:1`` needs two visible), else one. Neuron
    data parallel takes every NeuronCore of the node."""
    family = device_family(spec)
    if family == "cpu":
        return 0
    if family == "neuron" and spec.neuron_data_parallel and node is not None:
        return max(1, int(node.resources.get(FAMILY_RESOURCE[family], 1)))
    devices = [d for d in spec.worker_devices() if d.startswith(family)]
    numbered = [int(d.partition(":")[2]) + 1 for d in devices if d.partition(":")[2].isdigit()]
    plain = sum(":" not in d for d in devices)
    return max([*numbered, plain if family == "neuron" else min(plain, 1), 1])


class NodePlanner:
    """Which alive node may take a point now, and the resources the point asks of it."""

    def __init__(self, nodes: Sequence[NodeInfo], *, exclusive: bool = True) -> None:
        self.exclusive = exclusive
        self.nodes = {node.node_id: node for node in nodes}
        self.free = {node.node_id: dict(node.resources) for node in nodes}
        self.running = {node.node_id: 0 for node in nodes}
        self.dead: set[str] = set()

    def request(self, spec: RunSpec, node: NodeInfo) -> dict[str, float]:
        """The resources ``spec`` takes on ``node`` (``CPU`` and its accelerator, by name)."""
        need = {"CPU": float(node.resources.get("CPU", 0)) if self.exclusive else 1.0}
        family = device_family(spec)
        if family in FAMILY_RESOURCE:
            need[FAMILY_RESOURCE[family]] = float(devices_needed(spec, node))
        return need

    def _fits(self, spec: RunSpec, node: NodeInfo, free: Mapping[str, float]) -> bool:
        need = self.request(spec, node)
        return all(free.get(name, 0.0) >= amount for name, amount in need.items())

    def missing(self, spec: RunSpec, avoid: Collection[str] = ()) -> str | None:
        """Why no alive node (other than those in ``avoid``) could ever run ``spec`` (None when
        one can)."""
        family = device_family(spec)
        alive = [n for n in self.nodes.values() if n.node_id not in self.dead | set(avoid)]
        if any(self._fits(spec, n, n.resources) for n in alive):
            return None
        resource = FAMILY_RESOURCE.get(family, "CPU")
        offered = sorted({int(n.resources.get(resource, 0)) for n in alive} - {0})
        other = " other" if avoid else ""
        if not offered:
            gone = " left" if self.dead or avoid else ""
            return f"no{other} node of the cluster has {FAMILY_WORDS[family]}{gone}"
        most = max(offered)
        return (
            f"needs {devices_needed(spec)} {FAMILY_WORDS[family]} on one node; the most any"
            f"{other} node has is {most}"
        )

    def pick(self, spec: RunSpec, avoid: Collection[str] = ()) -> NodeInfo | None:
        """A node that can take ``spec`` now, none of those in ``avoid``. CPU points go to nodes
        without accelerators first, so they do not hold an accelerator node that an accelerator
        point is waiting for."""
        candidates = [
            n
            for n in self.nodes.values()
            if n.node_id not in self.dead
            and n.node_id not in avoid
            and not (self.exclusive and self.running[n.node_id])
            and self._fits(spec, n, self.free[n.node_id])
        ]
        candidates.sort(
            key=lambda n: (
                sum(n.resources.get(r, 0) > 0 for r in FAMILY_RESOURCE.values()),
                n.host,
                n.node_id,
            )
        )
        return candidates[0] if candidates else None

    def take(self, node: NodeInfo, need: Mapping[str, float]) -> None:
        self.running[node.node_id] += 1
        free = self.free[node.node_id]
        for name, amount in need.items():
            free[name] = free.get(name, 0.0) - amount

    def release(self, node: NodeInfo, need: Mapping[str, float]) -> None:
        self.running[node.node_id] -= 1
        free = self.free[node.node_id]
        for name, amount in need.items():
            free[name] = free.get(name, 0.0) + amount

    def mark_dead(self, node_ids: Collection[str]) -> None:
        self.dead.update(node_ids)


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

    def unrunnable(self, spec: RunSpec) -> str | None:
        """Why no node of the cluster can run ``spec`` (checked before anything is submitted)."""
        return self.planner.missing(spec)

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
            reason=f"lost with its node or worker ({lost}) and {reason}",
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
                waiting.insert(0, Waiting(entry.key, entry.spec, entry.tries + 1, failed_on))
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
    return Result(
        run_id=uuid.uuid4().hex[:12],
        created_at=created_at,
        status=str(event.status),
        spec=spec.to_dict(),
        options=options.to_dict(),
        environment={"host": node.get("host"), "node": node},
        message=event.reason,
    )
