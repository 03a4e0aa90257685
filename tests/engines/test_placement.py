"""Worker pinning: the device each worker names, and the variables set before its runtime loads."""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

import pytest

from engines.messages import WorkerTask
from engines.placement import Placement, place
from engines.spec import RunSpec
from profilers.session import Session

# --- CUDA -----------------------------------------------------------------------------------


def test_a_numbered_gpu_becomes_the_only_visible_one() -> None:
    assert place("cuda:1", 0, 1, {}) == Placement("cuda:0", {"CUDA_VISIBLE_DEVICES": "1"})
    assert place("cuda:0", 0, 1, {}) == Placement("cuda:0", {"CUDA_VISIBLE_DEVICES": "0"})


@pytest.mark.parametrize(
    ("parent", "device", "visible"),
    [
        ("4,6", "cuda:0", "4"),
        ("4,6", "cuda:1", "6"),
        (" 4 , 6 ", "cuda:1", "6"),  # spaces around the entries
        ("GPU-aaaa,GPU-bbbb", "cuda:1", "GPU-bbbb"),  # UUIDs pass through as given
        ("", "cuda:1", "1"),  # set but empty: the parent's own numbering
    ],
)
def test_the_parents_visible_list_is_respected(parent: str, device: str, visible: str) -> None:
    placed = place(device, 0, 1, {"CUDA_VISIBLE_DEVICES": parent})
    assert placed == Placement("cuda:0", {"CUDA_VISIBLE_DEVICES": visible})


def test_plain_cuda_and_cpu_are_left_alone() -> None:
    assert place("cuda", 0, 1, {"CUDA_VISIBLE_DEVICES": "2"}) == Placement("cuda:0", {})
    assert place("cpu", 0, 2, {"CUDA_VISIBLE_DEVICES": "2"}) == Placement("cpu", {})


# --- Neuron ---------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [2, 3, 8])
def test_n_workers_on_neuron_take_one_core_each(workers: int) -> None:
    placed = [place("neuron", index, workers, {}) for index in range(workers)]
    assert [p.device for p in placed] == ["neuron"] * workers
    assert [p.env for p in placed] == [
        {"NEURON_RT_VISIBLE_CORES": str(core)} for core in range(workers)
    ]


def test_one_worker_on_neuron_keeps_every_core() -> None:
    assert place("neuron", 0, 1, {}) == Placement("neuron", {})


@pytest.mark.parametrize(
    ("parent", "device", "worker", "core"),
    [("4-7", "neuron", 2, "6"), ("8,10,12", "neuron:1", 0, "10"), ("0-1,6-7", "neuron", 3, "7")],
)
def test_neuron_cores_count_within_the_parents_visible_cores(
    parent: str, device: str, worker: int, core: str
) -> None:
    placed = place(device, worker, 4, {"NEURON_RT_VISIBLE_CORES": parent})
    assert placed == Placement("neuron", {"NEURON_RT_VISIBLE_CORES": core})


def test_a_numbered_neuroncore_is_pinned() -> None:
    assert place("neuron:3", 0, 1, {}) == Placement("neuron", {"NEURON_RT_VISIBLE_CORES": "3"})


# --- what the Session hands each spawned worker ----------------------------------------------


class _Process:
    """Records what it would run; never starts anything."""

    def __init__(self, target: Any, args: tuple[Any, ...], name: str, daemon: bool) -> None:
        self.task: WorkerTask = args[0]
        self.name = name
        self.pid = None

    def start(self) -> None:
        pass


class _Context:
    def __init__(self) -> None:
        self.processes: list[_Process] = []

    def Pipe(self, duplex: bool = True) -> Any:
        return mp.Pipe(duplex)

    def Process(self, **kwargs: Any) -> _Process:
        process = _Process(**kwargs)
        self.processes.append(process)
        return process


def _tasks(spec: RunSpec) -> list[WorkerTask]:
    context = _Context()
    started = Session(spec)._start_workers(context, None)
    for _, conn in started:
        conn.close()
    return [process.task for process in context.processes]


def test_session_pins_n_neuron_workers_to_cores_0_to_n_minus_1() -> None:
    tasks = _tasks(RunSpec(device="neuron", workers=3, seq_len=128))
    assert [task.index for task in tasks] == [0, 1, 2]
    assert [task.device for task in tasks] == ["neuron"] * 3
    assert [task.env for task in tasks] == [
        {"NEURON_RT_VISIBLE_CORES": "0"},
        {"NEURON_RT_VISIBLE_CORES": "1"},
        {"NEURON_RT_VISIBLE_CORES": "2"},
    ]


def test_session_maps_listed_gpus_through_the_parents_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    tasks = _tasks(RunSpec(workers=2, devices=("cuda:1", "cuda:0"), seq_len=128))
    assert [task.device for task in tasks] == ["cuda:0", "cuda:0"]
    assert [task.env for task in tasks] == [
        {"CUDA_VISIBLE_DEVICES": "6"},
        {"CUDA_VISIBLE_DEVICES": "4"},
    ]
    assert all(task.spec["devices"] == ["cuda:1", "cuda:0"] for task in tasks)


def test_session_leaves_cpu_workers_unpinned() -> None:
    tasks = _tasks(RunSpec(workers=2, seq_len=128))
    assert [(task.device, task.env) for task in tasks] == [("cpu", {}), ("cpu", {})]
