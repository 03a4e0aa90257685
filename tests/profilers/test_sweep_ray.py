"""Cluster sweeps on real Ray (``ray`` marker): one small cluster on this machine for the module,
with fake accelerators (``num_gpus=2``, ``neuron_cores=2``) on the head node and a one-CPU worker
node added where a test needs two nodes. Only the Ray processes started here are stopped here
(``ray.shutdown()`` and the cluster object's shutdown; never ``ray stop``)."""

from __future__ import annotations

import csv
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engines.errors import InvalidInputError
from engines.messages import Status
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.result import load_result
from profilers.sweep.cluster import ClusterEvent, ClusterRun
from profilers.sweep.nodes import NodePlanner
from profilers.sweep.points import SKIPPED

ray = pytest.importorskip("ray", reason="needs the cluster extra: pip install -e '.[cluster]'")
from ray.cluster_utils import Cluster  # noqa: E402
from ray_points import LOG_VARIABLE, read_log, recording_runner  # noqa: E402

from profilers.sweep.ray_executor import RayBackend, connect  # noqa: E402
from tui.cli import invoke  # noqa: E402

pytestmark = pytest.mark.ray

SUPPORT = Path(__file__).resolve().parents[1] / "support"
STORE = 80 * 2**20  # Ray's minimum object store is 75 MiB; its default is 30% of RAM


@pytest.fixture(scope="module")
def log_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ray") / "tasks.jsonl"


@pytest.fixture(scope="module")
def cluster(log_path: Path) -> Iterator[Cluster]:
    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"  # this test cluster only: no token written
    head = {
        "num_cpus": 2,
        "num_gpus": 2,
        "resources": {"neuron_cores": 2},
        "object_store_memory": STORE,
        "include_dashboard": False,
    }
    local = Cluster(initialize_head=True, head_node_args=head)
    try:
        env = {"PYTHONPATH": str(SUPPORT), LOG_VARIABLE: str(log_path)}
        ray.init(address=local.address, runtime_env={"env_vars": env}, log_to_driver=False)
        yield local
    finally:
        ray.shutdown()
        local.shutdown()
        if saved is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = saved


def spec(device: str, batch: int, seconds: float = 2.0, **extra: Any) -> RunSpec:
    return RunSpec(model="esm2_t6_8M", device=device, batch_size=batch, duration_s=seconds, **extra)


def ends(events: list[ClusterEvent]) -> dict[Any, ClusterEvent]:
    finished = [e for e in events if e.kind == "finished"]
    assert len(finished) == len({e.key for e in finished}), "a point ended twice"
    return {e.key: e for e in finished}


def test_each_point_gets_its_own_devices(cluster: Cluster) -> None:
    backend = RayBackend(ray, recording_runner, exclusive=False)
    runner = ClusterRun(backend, MeasureOptions(), exclusive=False, poll_s=0.5)
    points = [
        (0, spec("cuda", 1)),
        (1, spec("cuda", 2)),
        (2, spec("neuron", 1, workers=2)),
        (3, spec("cuda:1", 1, seconds=0.1)),
        (4, spec("cpu", 1, notes=("refuse",))),
        (5, spec("cpu", 2, notes=("crash",))),
    ]
    finished = ends(list(runner.run(points)))
    # The node's own checks refused one point; another one's worker died (no other node to
    # retry it on): both say so, and the node.
    assert finished.pop(4).status == SKIPPED
    crashed = finished.pop(5)
    assert crashed.status == Status.CRASHED and crashed.result is None
    assert "WorkerCrashedError" in str(crashed.reason) and "no other node" in str(crashed.reason)
    results = {k: e.result for k, e in finished.items()}
    assert all(r is not None and r.status == "ok" for r in results.values()), results
    env = {k: r.environment for k, r in results.items() if r is not None}
    visible = {k: e["node"]["visible"] for k, e in env.items()}
    # One GPU each for the plain cuda points, and plmprof pins its worker to that one.
    for key in (0, 1):
        assert list(visible[key]) == ["CUDA_VISIBLE_DEVICES"]
        assert visible[key]["CUDA_VISIBLE_DEVICES"] in ("0", "1")
        assert env[key]["node"]["accelerator_ids"]["GPU"] == [visible[key]["CUDA_VISIBLE_DEVICES"]]
    a, b = env[0], env[1]
    if a["started"] < b["ended"] and b["started"] < a["ended"]:  # they ran side by side
        assert visible[0] != visible[1]
    # Two NeuronCores for two Neuron workers, one core each within them.
    cores = visible[2]["NEURON_RT_VISIBLE_CORES"]
    assert sorted(cores.split(",")) == ["0", "1"]
    assert [p["NEURON_RT_VISIBLE_CORES"] for p in env[2]["placements"]] == cores.split(",")
    # cuda:1 asks for two GPUs and its worker sees the second of them.
    granted = visible[3]["CUDA_VISIBLE_DEVICES"].split(",")
    assert len(granted) == 2 and env[3]["placements"][0] == {"CUDA_VISIBLE_DEVICES": granted[1]}
    # A fresh worker process per point.
    assert len({e["pid"] for e in env.values()}) == 4


def test_exclusive_points_never_share_the_node(cluster: Cluster) -> None:
    backend = RayBackend(ray, recording_runner)
    runner = ClusterRun(backend, MeasureOptions(), poll_s=0.5)
    planner = NodePlanner(backend.nodes())
    assert planner.missing(spec("cpu", 1)) is None
    too_many = planner.missing(spec("cuda:2", 1))
    assert too_many == "needs 3 GPUs on one node; the most any node has is 2"
    events = list(runner.run([(b, spec("cpu", b, 1.0)) for b in (1, 2)]))
    results = [e.result for e in ends(events).values()]
    spans = sorted((r.environment["started"], r.environment["ended"]) for r in results if r)
    assert len(spans) == 2 and spans[0][1] <= spans[1][0]
    # The point owns the node: Ray's one-thread-per-CPU setting is not forced on its workers.
    assert all(r is not None and r.environment["omp_threads"] is None for r in results)


def test_a_node_removed_mid_sweep_loses_nothing(cluster: Cluster, log_path: Path) -> None:
    worker = cluster.add_node(num_cpus=1, object_store_memory=STORE)
    cluster.wait_for_nodes()
    backend = RayBackend(ray, recording_runner)
    runner = ClusterRun(backend, MeasureOptions(), poll_s=0.5)
    worker_id = worker.node_id
    removed = threading.Event()

    def remove_when_running(batch: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(e["event"] == "start" and e["batch"] == batch for e in read_log(log_path)):
                cluster.remove_node(worker, allow_graceful=False)
                removed.set()
                return
            time.sleep(0.2)

    points = [(b, spec("cpu", b, 4.0)) for b in (11, 12, 13)]
    events = []
    for event in runner.run(points):
        events.append(event)
        on_worker = event.node is not None and event.node.node_id == worker_id
        if event.kind == "started" and on_worker and event.tries == 1 and not removed.is_set():
            threading.Thread(target=remove_when_running, args=(event.key,)).start()
    finished = ends(events)
    assert removed.is_set()
    assert sorted(finished) == [11, 12, 13]
    states = {k: (e.status, e.reason, e.tries) for k, e in finished.items()}
    assert all(e.status == "ok" and e.result is not None for e in finished.values()), states
    retried = [k for k, e in finished.items() if e.tries == 2]
    assert len(retried) == 1 and finished[retried[0]].node.node_id != worker_id  # type: ignore[union-attr]
    log = [e for e in read_log(log_path) if e["batch"] in (11, 12, 13)]
    done = [e["batch"] for e in log if e["event"] == "done"]
    assert sorted(done) == [11, 12, 13]  # each measured to the end exactly once


def test_an_unreachable_cluster_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # as a new driver would be
    with pytest.raises(InvalidInputError, match=r"cannot reach the Ray cluster at 127\.0\.0\.1:9"):
        connect("127.0.0.1:9")
    with pytest.raises(InvalidInputError, match="is not 'auto' or HOST:PORT"):
        connect("nohost")


def test_a_cli_sweep_on_two_nodes_reports_as_the_local_one_does(
    cluster: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's acceptance check: a small real CPU sweep (plmprof's own session in each Ray
    task) on two nodes gives the same points and report columns as the local executor."""
    worker = cluster.add_node(num_cpus=1, object_store_memory=STORE)
    cluster.wait_for_nodes()
    grid = ["sweep", "--models", "esm2_t6_8M", "--batch-sizes", "1,2", "--seq-len", "32"]
    grid += ["--duration", "0.5", "--min-iters", "3", "--warmup", "1"]
    try:
        assert invoke([*grid, "-o", str(tmp_path / "local")]) == 0
        ray_flags = ["--executor", "ray", "--ray-address", cluster.address]
        assert invoke([*grid, *ray_flags, "-o", str(tmp_path / "ray")]) == 0
    finally:
        cluster.remove_node(worker)
    err = capsys.readouterr().err
    assert "Ray cluster: 2 node(s), one point per node" in err
    saved = {
        name: json.loads((tmp_path / name / "sweep.json").read_text())["points"]
        for name in ("local", "ray")
    }
    assert [p["file"] for p in saved["local"]] == [p["file"] for p in saved["ray"]]
    assert all(p["status"] == "ok" for p in saved["local"] + saved["ray"])
    assert len({p["node"] for p in saved["ray"]}) == 2  # one point on each node
    reports = {}
    for name in ("local", "ray"):
        assert invoke(["report", str(tmp_path / name), "--export", "csv"]) == 0
        reports[name] = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert list(reports["local"][0]) == list(reports["ray"][0])  # the same columns
    key = ("model", "device", "batch_size", "status")
    assert sorted(tuple(r[k] for k in key) for r in reports["local"]) == sorted(
        tuple(r[k] for k in key) for r in reports["ray"]
    )
    for point in saved["ray"]:
        result = load_result(tmp_path / "ray" / point["file"])
        assert result.environment["node"]["ray_node_id"]
        assert result.latency is not None and result.latency["count"] >= 3


def test_a_point_past_its_deadline_is_cancelled_with_its_workers(
    cluster: Cluster, log_path: Path
) -> None:
    backend = RayBackend(ray, recording_runner)
    runner = ClusterRun(backend, MeasureOptions(), point_timeout_s=15.0, poll_s=0.5)
    finished = ends(list(runner.run([(0, spec("cpu", 21, seconds=600.0))])))
    assert finished[0].status == Status.TIMEOUT
    started = [e for e in read_log(log_path) if e["batch"] == 21 and e["event"] == "start"]
    assert len(started) == 1
    deadline = time.monotonic() + 30
    while _alive(started[0]["pid"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _alive(started[0]["pid"])  # ray.cancel(force=True) ended the task's process


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
