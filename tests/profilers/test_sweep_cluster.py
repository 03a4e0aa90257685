"""Cluster sweeps with an in-process fake cluster: placement, exclusive nodes, retries when a node
is lost, deadlines, stopping. Ray itself is tested in test_sweep_ray.py (``ray`` marker)."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from cluster_fakes import FakeCluster, FakeTask, node_dies

from engines.errors import InvalidInputError
from engines.messages import Status
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.sweep.cluster import ClusterEvent, ClusterRun, TaskEnd, failure_result
from profilers.sweep.nodes import NodeInfo, NodePlanner, devices_needed
from profilers.sweep.points import SKIPPED
from profilers.sweep.ray_executor import import_ray

CPU_NODE = NodeInfo("c" * 16, "cpu-host", resources={"CPU": 4.0})
GPU_NODE = NodeInfo("g" * 16, "gpu-host", resources={"CPU": 8.0, "GPU": 2.0})
NEURON_NODE = NodeInfo("n" * 16, "inf2-host", resources={"CPU": 4.0, "neuron_cores": 2.0})


def spec(device: str = "cpu", batch: int = 1, **extra: Any) -> RunSpec:
    return RunSpec(model="esm2_t6_8M", device=device, batch_size=batch, **extra)


def finished(events: list[ClusterEvent]) -> dict[Any, ClusterEvent]:
    ends = [e for e in events if e.kind == "finished"]
    assert len(ends) == len({e.key for e in ends}), "a point finished twice"
    return {e.key: e for e in ends}


def run_all(cluster: FakeCluster, specs: list[RunSpec], **options: Any) -> dict[Any, ClusterEvent]:
    runner = ClusterRun(cluster, MeasureOptions(), clock=cluster.clock, **options)
    return finished(list(runner.run(list(enumerate(specs)))))


# -- resources and placement --------------------------------------------------------------------


def test_each_point_asks_for_its_own_devices() -> None:
    planner = NodePlanner([CPU_NODE, GPU_NODE, NEURON_NODE])
    assert planner.request(spec("cpu"), CPU_NODE) == {"CPU": 4.0}  # the whole node
    assert planner.request(spec("cuda"), GPU_NODE) == {"CPU": 8.0, "GPU": 1.0}
    assert planner.request(spec("cuda:1"), GPU_NODE)["GPU"] == 2.0  # index 1 needs two visible
    two_cores = spec("neuron", workers=2)
    assert planner.request(two_cores, NEURON_NODE)["neuron_cores"] == 2.0
    assert devices_needed(spec("neuron", neuron_data_parallel=True), NEURON_NODE) == 2
    shared = NodePlanner([GPU_NODE], exclusive=False)
    assert shared.request(spec("cuda"), GPU_NODE) == {"CPU": 1.0, "GPU": 1.0}


def test_points_for_hardware_no_node_has_are_explained() -> None:
    planner = NodePlanner([CPU_NODE, GPU_NODE])
    assert planner.missing(spec("cpu")) is None
    assert planner.missing(spec("cuda")) is None
    assert planner.missing(spec("neuron")) == "no node of the cluster has NeuronCores"
    reason = planner.missing(spec("cuda:3"))
    assert reason == "needs 4 GPUs on one node; the most any node has is 2"


def test_cpu_points_take_cpu_nodes_first_and_accelerator_points_their_nodes() -> None:
    planner = NodePlanner([GPU_NODE, NEURON_NODE, CPU_NODE])
    assert planner.pick(spec("cpu")) == CPU_NODE
    assert planner.pick(spec("cuda")) == GPU_NODE
    assert planner.pick(spec("neuron")) == NEURON_NODE
    planner.take(CPU_NODE, planner.request(spec("cpu"), CPU_NODE))
    assert planner.pick(spec("cpu")) in (GPU_NODE, NEURON_NODE)  # the CPU node is busy


def test_a_node_declared_with_no_cpus_runs_no_point() -> None:
    head = NodeInfo("h" * 16, "head", resources={"CPU": 0.0, "GPU": 1.0})
    planner = NodePlanner([head, CPU_NODE])
    assert planner.pick(spec("cpu")) == CPU_NODE and planner.pick(spec("cuda")) is None
    assert NodePlanner([head]).missing(spec("cpu")) == "no node of the cluster has CPUs"
    assert NodePlanner([head]).missing(spec("cuda")) == "no node of the cluster has GPUs"


def test_exclusive_nodes_run_one_point_at_a_time() -> None:
    cluster = FakeCluster([GPU_NODE])
    ends = run_all(cluster, [spec("cuda", b) for b in (1, 2, 3)])
    assert [e.status for e in ends.values()] == ["ok", "ok", "ok"]
    assert cluster.running_peak == {"gpu-host": 1}


def test_shared_nodes_run_points_side_by_side_within_their_resources() -> None:
    cluster = FakeCluster([GPU_NODE])
    ends = run_all(cluster, [spec("cuda", b) for b in (1, 2, 3)], exclusive=False)
    assert all(e.status == "ok" for e in ends.values())
    assert cluster.running_peak == {"gpu-host": 2}  # two GPUs: two points at once


def test_a_mixed_fleet_runs_each_point_on_its_hardware() -> None:
    cluster = FakeCluster([CPU_NODE, GPU_NODE, NEURON_NODE])
    specs = [spec("cpu"), spec("cuda"), spec("neuron"), spec("cpu", 2)]
    ends = run_all(cluster, specs)
    assert {k: e.node.host for k, e in ends.items() if e.node} == {
        0: "cpu-host",
        1: "gpu-host",
        2: "inf2-host",
        3: "cpu-host",
    }
    assert all(e.result is not None and e.result.status == "ok" for e in ends.values())


# -- faults ---------------------------------------------------------------------------------------


def test_a_lost_node_is_retried_once_on_another_node() -> None:
    other = NodeInfo("d" * 16, "cpu-host-2", resources={"CPU": 4.0})
    cluster = FakeCluster([CPU_NODE, other])
    node_dies(cluster, CPU_NODE, "NodeDiedError: node died")
    ends = run_all(cluster, [spec("cpu", b) for b in (1, 2, 3)])
    assert all(e.status == "ok" for e in ends.values())
    assert all(e.node == other for e in ends.values())
    retried = [e for e in ends.values() if e.tries == 2]
    assert len(retried) == 1  # only the point that was on the lost node ran again
    assert len(cluster.submitted) == 4


def test_a_point_lost_twice_is_crashed_naming_its_nodes() -> None:
    other = NodeInfo("d" * 16, "cpu-host-2", resources={"CPU": 4.0})
    cluster = FakeCluster(
        [CPU_NODE, other], outcome=lambda task: TaskEnd(kind="lost", message="WorkerCrashedError")
    )
    ends = run_all(cluster, [spec("cpu")])
    assert ends[0].status == Status.CRASHED and ends[0].tries == 2
    assert ends[0].reason is not None
    assert "cpu-host (node cccccccc)" in ends[0].reason and "cpu-host-2" in ends[0].reason


def test_points_left_without_a_node_of_their_kind_end_with_the_reason() -> None:
    cluster = FakeCluster([CPU_NODE, GPU_NODE])
    node_dies(cluster, GPU_NODE, "NodeDiedError")
    ends = run_all(cluster, [spec("cuda", 1), spec("cpu", 1), spec("cuda", 2)])
    assert ends[1].status == "ok"
    assert ends[0].status == Status.CRASHED
    assert ends[0].reason == (
        "lost with its node or worker (gpu-host (node gggggggg): NodeDiedError) and "
        "no other node of the cluster has GPUs left"
    )
    assert ends[2].status == SKIPPED and ends[2].reason == "no node of the cluster has GPUs left"


def test_a_point_past_its_deadline_is_cancelled_as_timeout() -> None:
    cluster = FakeCluster([CPU_NODE], outcome=lambda t: None if t.spec.batch_size == 1 else "ok")
    ends = run_all(cluster, [spec("cpu", 1), spec("cpu", 2)], point_timeout_s=30.0)
    assert ends[0].status == Status.TIMEOUT
    assert "--point-timeout 30 s on cpu-host" in str(ends[0].reason)
    assert ends[1].status == "ok"  # the node was freed for the next point
    assert [t.spec.batch_size for t in cluster.cancelled] == [1]


def test_node_refusals_memory_monitor_kills_and_errors_keep_their_words() -> None:
    ends_by_batch = {
        1: TaskEnd(kind="refused", message="CUDA is not available"),
        2: TaskEnd(kind="oom", message="Ray's memory monitor ended the point"),
        3: TaskEnd(kind="error", message="ValueError: bad"),
    }
    cluster = FakeCluster([CPU_NODE], outcome=lambda task: ends_by_batch[task.spec.batch_size])
    ends = run_all(cluster, [spec("cpu", b) for b in (1, 2, 3)])
    assert [ends[i].status for i in range(3)] == [SKIPPED, "oom", "error"]
    assert ends[1].reason == "on cpu-host (node cccccccc): Ray's memory monitor ended the point"


def test_stop_cancels_what_runs_and_marks_it_interrupted() -> None:
    cluster = FakeCluster([CPU_NODE, GPU_NODE], outcome=lambda task: None)
    runner = ClusterRun(cluster, MeasureOptions(), clock=cluster.clock)
    events = runner.run([(0, spec("cpu")), (1, spec("cuda"))])
    started = [next(events), next(events)]
    assert {e.kind for e in started} == {"started"}
    stopped = runner.stop("stopped by the user")
    assert {e.key: e.status for e in stopped} == {0: Status.INTERRUPTED, 1: Status.INTERRUPTED}
    assert len(cluster.cancelled) == 2 and not runner.running


def test_a_failure_result_names_the_node() -> None:
    event = ClusterEvent("finished", 0, CPU_NODE, 2, Status.CRASHED, reason="lost twice")
    result = failure_result(spec(), MeasureOptions(), event, "2026-01-01T00:00:00+00:00")
    assert result.status == Status.CRASHED and result.message == "lost twice"
    assert result.environment["node"]["host"] == "cpu-host"
    assert result.environment["node"]["ray_node_id"] == CPU_NODE.node_id
    assert result.latency is None and result.spec["device"] == "cpu"


@pytest.mark.parametrize("timeout", [None, 5.0])
def test_nothing_is_lost_or_run_twice(timeout: float | None) -> None:
    cluster = FakeCluster([CPU_NODE, GPU_NODE])
    specs = [spec(d, b) for d in ("cpu", "cuda") for b in (1, 2, 4)]
    ends = run_all(cluster, specs, point_timeout_s=timeout)
    assert sorted(ends) == list(range(6))
    assert len(cluster.submitted) == 6


def test_asking_for_ray_without_ray_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(InvalidInputError, match=r"pip install 'plmprof\[cluster\]'"):
        import_ray()


def test_a_retry_waits_for_another_node_rather_than_the_one_it_was_lost_on() -> None:
    other = NodeInfo("d" * 16, "cpu-host-2", resources={"CPU": 4.0})
    cluster = FakeCluster([CPU_NODE, other])  # the cluster has not noticed the loss yet

    def outcome(task: FakeTask) -> TaskEnd | str | None:
        if task.node == CPU_NODE:
            return TaskEnd(kind="lost", message="TaskUnschedulableError", node_lost=True)
        return "ok" if cluster.now >= 3 else None  # the other node is busy for a while

    cluster.outcome = outcome
    ends = run_all(cluster, [spec("cpu", 1), spec("cpu", 2)])
    assert all(e.status == "ok" and e.node == other for e in ends.values())
    assert [t.node.host for t in cluster.submitted] == ["cpu-host", "cpu-host-2", "cpu-host-2"]
