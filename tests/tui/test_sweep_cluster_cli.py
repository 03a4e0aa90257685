"""``plmprof sweep --executor ray`` with an in-process fake cluster in place of Ray: which node ran
which point, points no node can run, lost nodes, deadlines, Ctrl-C and resume, a lost cluster."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cluster_fakes import FakeCluster, FakeTask, node_dies, ok_result

from profilers.result import load_result
from profilers.sweep.cluster import ClusterExecutor, ClusterLostError, TaskEnd
from profilers.sweep.nodes import NodeInfo
from tui.cli import invoke

NODE_A = NodeInfo("a" * 16, "host-a", resources={"CPU": 2.0})
NODE_B = NodeInfo("b" * 16, "host-b", resources={"CPU": 2.0})
GRID = ["sweep", "--batch-sizes", "1,2,4", "--seq-len", "32", "--duration", "0.5"]
RAY = ["--executor", "ray", "--ray-address", "auto"]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeCluster]:
    """Put a fake cluster where Ray's would be; returns it for the test to script."""

    def install(*nodes: NodeInfo, timeout: float | None = None) -> FakeCluster:
        fake = FakeCluster(list(nodes or (NODE_A, NODE_B)))

        @contextmanager
        def fake_ray_executor(address: str | None, **options: Any) -> Iterator[ClusterExecutor]:
            assert address == "auto"
            yield ClusterExecutor(fake, exclusive=options["exclusive"], point_timeout_s=timeout)

        monkeypatch.setattr("profilers.sweep.ray_executor.ray_executor", fake_ray_executor)
        return fake

    return install


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = invoke(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, " ".join(captured.err.split())


def points(folder: Path) -> list[dict[str, Any]]:
    return list(json.loads((folder / "sweep.json").read_text())["points"])


def test_each_point_runs_on_a_node_that_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cluster: Callable[..., FakeCluster]
) -> None:
    fake = cluster()
    code, out, err = run([*GRID, "--devices", "cpu,cuda", *RAY, "-o", "s"], capsys)
    assert code == 0, err
    assert "Ray cluster: 2 node(s), one point per node" in err
    assert "host-a (node aaaaaaaa): 2 CPU" in err
    assert "3 of 6 points cannot run here and are skipped" in err
    assert "no node of the cluster has GPUs (points 4, 5, 6)" in err
    assert "started #1 device=cpu batch=1 on host-" in err
    saved = points(tmp_path / "s")
    assert [p["status"] for p in saved] == ["ok"] * 3 + ["skipped"] * 3
    assert {p["node"] for p in saved[:3]} == {"host-a (node aaaaaaaa)", "host-b (node bbbbbbbb)"}
    for point in saved[:3]:
        result = load_result(tmp_path / "s" / point["file"])
        assert result.environment["node"]["host"] in point["node"]
    assert len(fake.submitted) == 3 and max(fake.running_peak.values()) == 1
    assert "report.md" in out
    rows = [line for line in out.splitlines() if " host-" in line]  # the node column
    assert len(rows) == 3 and all(" ok " in row for row in rows)


def test_a_lost_node_loses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cluster: Callable[..., FakeCluster]
) -> None:
    fake = cluster()
    node_dies(fake, NODE_A, "NodeDiedError", node_lost=True)
    code, _, err = run([*GRID, *RAY, "-o", "s"], capsys)
    assert code == 0, err
    saved = points(tmp_path / "s")
    assert [p["status"] for p in saved] == ["ok", "ok", "ok"]
    assert {p["node"] for p in saved} == {"host-b (node bbbbbbbb)"}
    assert len(fake.submitted) == 4  # the lost point once more, on the other node


def test_a_point_lost_twice_is_a_crashed_result_naming_the_nodes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cluster: Callable[..., FakeCluster]
) -> None:
    fake = cluster()
    lost = TaskEnd(kind="lost", message="WorkerCrashedError")
    fake.outcome = lambda t: lost if t.spec.batch_size == 2 else "ok"
    code, _, _ = run([*GRID, *RAY, "-o", "s"], capsys)
    assert code == 0
    crashed = points(tmp_path / "s")[1]
    assert crashed["status"] == "crashed"
    assert "host-a (node aaaaaaaa)" in crashed["reason"] and "host-b" in crashed["reason"]
    result = load_result(tmp_path / "s" / crashed["file"])  # the report lists it
    assert result.status == "crashed" and result.message == crashed["reason"]
    assert "crashed" in (tmp_path / "s" / "report.md").read_text()


def test_a_point_past_its_deadline_is_a_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cluster: Callable[..., FakeCluster]
) -> None:
    fake = cluster(timeout=0.05)
    fake.outcome = lambda t: None if t.spec.batch_size == 1 else "ok"
    code, _, _ = run([*GRID, *RAY, "--point-timeout", "0.05", "-o", "s"], capsys)
    assert code == 0
    saved = points(tmp_path / "s")
    assert [p["status"] for p in saved] == ["timeout", "ok", "ok"]
    assert "--point-timeout 0.05 s" in saved[0]["reason"]
    assert len(fake.cancelled) == 1


def test_ctrl_c_keeps_what_finished_and_resume_runs_only_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cluster: Callable[..., FakeCluster]
) -> None:
    fake = cluster(NODE_A)

    def outcome(task: FakeTask) -> TaskEnd | str | None:
        if task.spec.batch_size == 2:
            raise KeyboardInterrupt
        return "ok"

    fake.outcome = outcome
    code, _, err = run([*GRID, *RAY, "-o", "s"], capsys)
    assert code == 130
    assert "--resume --output s --executor ray" in err
    assert [p["status"] for p in points(tmp_path / "s")] == ["ok", "interrupted", "pending"]
    assert len(fake.cancelled) == 1

    again = cluster(NODE_A)
    code, _, err = run(["sweep", "--resume", "-o", "s", *RAY], capsys)
    assert code == 0, err
    assert [t.spec.batch_size for t in again.submitted] == [2, 4]
    assert [p["status"] for p in points(tmp_path / "s")] == ["ok", "ok", "ok"]


def test_a_lost_cluster_keeps_what_finished(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cluster: Callable[..., FakeCluster]
) -> None:
    fake = cluster(NODE_A)

    def outcome(task: FakeTask) -> TaskEnd | str | None:
        if task.spec.batch_size == 2:
            raise ClusterLostError("lost the Ray cluster: GCS unreachable")
        return "ok"

    fake.outcome = outcome
    code, _, err = run([*GRID, *RAY, "-o", "s"], capsys)
    assert code == 1
    assert "lost the Ray cluster: GCS unreachable: what finished is saved in s" in err
    saved = points(tmp_path / "s")
    assert saved[0]["status"] == "ok" and (tmp_path / "s" / saved[0]["file"]).exists()
    assert [p["status"] for p in saved[1:]] == ["pending", "pending"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--executor", "dask"], "--executor 'dask' is not one of local, ray"),
        (["--point-timeout", "5"], "--point-timeout needs --executor ray"),
        (["--ray-address", "auto", "--shared-nodes"], "--ray-address, --shared-nodes needs"),
        ([*RAY, "--point-timeout", "0"], "--point-timeout must be a positive number"),
    ],
)
def test_bad_executor_flags_are_clear_errors(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["sweep", "--models", "esm2_t6_8M", *flags], capsys)
    assert code == 2 and message in err


def test_ray_not_installed_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    code, _, err = run([*GRID, *RAY, "-o", "s"], capsys)
    assert code == 2 and "pip install 'plmprof[cluster]'" in err


def test_max_batch_searches_on_the_cluster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cluster: Callable[..., FakeCluster]
) -> None:
    fake = cluster()

    def outcome(task: FakeTask) -> TaskEnd | str | None:
        if task.spec.batch_size < 6:
            return "ok"
        too_big = dataclasses.replace(ok_result(task), status="oom", latency=None)
        return TaskEnd(result=too_big)

    fake.outcome = outcome
    argv = ["sweep", "--max-batch", "--devices", "cpu,cuda", "--seq-len", "32", *RAY, "-o", "m"]
    code, _, err = run(argv, capsys)
    assert code == 0, err
    assert "no node of the cluster has GPUs" in err
    searches = json.loads((tmp_path / "m" / "max-batch.json").read_text())["searches"]
    assert [(s["largest_ok"], s["smallest_too_big"]) for s in searches] == [(5, 6)]
    assert {t.spec.batch_size for t in fake.submitted} == {1, 2, 4, 8, 6, 5}
