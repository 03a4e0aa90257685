"""An in-process cluster for sweep tests: nodes that never start a process, tasks that end as a
test says, and a clock that moves with each wait."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.result import Result
from profilers.sweep.cluster import TaskEnd
from profilers.sweep.nodes import NodeInfo


def ok_result(task: FakeTask) -> Result:
    """An ok Result as a node would send it back (the node recorded, a few figures)."""
    return Result(
        run_id=f"run-{task.spec.device}-{task.spec.batch_size}-{task.tries}",
        created_at="2026-01-01T00:00:00+00:00",
        status="ok",
        spec=task.spec.to_dict(),
        options=MeasureOptions().to_dict(),
        environment={"host": task.node.host, "node": task.node.to_dict()},
        latency={"unit": "s", "count": 5, "p50": 0.1, "p90": 0.1, "p99": 0.2},
        throughput={"sequences_per_s": 10.0 * task.spec.batch_size},
        memory={"unit": "MB", "max_ram": 100.0, "max_allocated": None},
    )


@dataclass
class FakeTask:
    spec: RunSpec
    node: NodeInfo
    need: Mapping[str, float]
    tries: int
    end: TaskEnd | None = None


# What a task does: a TaskEnd, None (runs until cancelled) or "ok".
Outcome = Callable[["FakeTask"], TaskEnd | str | None]


@dataclass
class FakeCluster:
    """Tasks end at the next ``wait`` as ``outcome`` says; ``clock`` moves with each wait."""

    alive: list[NodeInfo]
    outcome: Outcome = lambda task: "ok"
    submitted: list[FakeTask] = field(default_factory=list)
    cancelled: list[FakeTask] = field(default_factory=list)
    now: float = 0.0
    running_peak: dict[str, int] = field(default_factory=dict)

    def clock(self) -> float:
        return self.now

    def nodes(self) -> list[NodeInfo]:
        return list(self.alive)

    def submit(
        self, spec: RunSpec, options: MeasureOptions, node: NodeInfo, need: Mapping[str, float]
    ) -> FakeTask:
        tries = 1 + sum(t.spec == spec for t in self.submitted)
        task = FakeTask(spec, node, need, tries)
        self.submitted.append(task)
        busy = sum(t.end is None and t.node == node for t in self.submitted)
        self.running_peak[node.host] = max(self.running_peak.get(node.host, 0), busy)
        return task

    def wait(self, handles: Sequence[FakeTask], timeout_s: float) -> list[FakeTask]:
        self.now += timeout_s if timeout_s else 0.5
        ready = []
        for task in handles:
            outcome = self.outcome(task)
            if outcome is None:
                continue
            task.end = TaskEnd(result=ok_result(task)) if outcome == "ok" else outcome  # type: ignore[assignment]
            ready.append(task)
        return ready

    def end(self, handle: FakeTask) -> TaskEnd:
        assert handle.end is not None
        return handle.end

    def cancel(self, handle: FakeTask) -> None:
        handle.end = TaskEnd(kind="cancelled")
        self.cancelled.append(handle)


def node_dies(
    cluster: FakeCluster, node: NodeInfo, message: str, *, node_lost: bool = False
) -> None:
    """Script ``cluster``: a task on ``node`` ends ``lost`` with ``message`` and the cluster stops
    listing the node; every other task ends ok."""

    def outcome(task: FakeTask) -> TaskEnd | str | None:
        if task.node == node:
            cluster.alive = [n for n in cluster.alive if n != node]
            return TaskEnd(kind="lost", message=message, node_lost=node_lost)
        return "ok"

    cluster.outcome = outcome
