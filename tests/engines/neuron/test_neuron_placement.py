"""Per-worker pinning to NeuronCores, core counting, and the timing loop's device object."""

from __future__ import annotations

import pytest
import torch

from engines.backends.neuron.sdk import neuron_device_files, parse_core_list, visible_core_count
from engines.backends.neuron.worker import NeuronCoreDevice, is_neuron_device
from engines.errors import UnsupportedError
from engines.placement import place


def test_several_workers_on_plain_neuron_take_one_core_each() -> None:
    placements = [place("neuron", i, 2, {}) for i in range(2)]
    assert [p.env for p in placements] == [
        {"NEURON_RT_VISIBLE_CORES": "0"},
        {"NEURON_RT_VISIBLE_CORES": "1"},
    ]
    assert {p.device for p in placements} == {"neuron"}


def test_explicit_core_is_pinned_and_one_worker_keeps_every_core() -> None:
    assert place("neuron:5", 0, 1, {}).env == {"NEURON_RT_VISIBLE_CORES": "5"}
    assert place("neuron", 0, 1, {}).env == {}


def test_thirty_two_workers_cover_a_trn1_32xlarge() -> None:
    cores = [place("neuron", i, 32, {}).env["NEURON_RT_VISIBLE_CORES"] for i in range(32)]
    assert cores == [str(i) for i in range(32)]


@pytest.mark.parametrize(
    ("text", "cores"),
    [("3", [3]), ("0-1", [0, 1]), ("0-3,8", [0, 1, 2, 3, 8]), (" 2 , 4-5 ", [2, 4, 5])],
)
def test_visible_cores_syntax(text: str, cores: list[int]) -> None:
    assert parse_core_list(text) == cores


@pytest.mark.parametrize("text", ["a", "3-1", "1-", "-2"])
def test_unreadable_visible_cores_is_a_clear_error(text: str) -> None:
    with pytest.raises(UnsupportedError, match="cannot read NEURON_RT_VISIBLE_CORES"):
        parse_core_list(text)


def test_core_count_from_env_then_devices() -> None:
    assert visible_core_count({"NEURON_RT_VISIBLE_CORES": "0-1"}, "inf2", []) == 2
    assert visible_core_count({"NEURON_RT_NUM_CORES": "4"}, "inf2", []) == 4
    devices = [f"/dev/neuron{i}" for i in range(6)]
    assert visible_core_count({}, "inf2", devices) == 12  # inf2.24xlarge
    assert visible_core_count({}, "trn1", devices[:1]) == 2  # trn1.2xlarge
    assert visible_core_count({}, "trn2", devices) is None  # logical cores: not guessed
    assert visible_core_count({}, "inf2", []) is None
    with pytest.raises(UnsupportedError, match="NEURON_RT_NUM_CORES"):
        visible_core_count({"NEURON_RT_NUM_CORES": "x"}, "inf2", [])


def test_device_files_are_neuron_nodes_only(tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    for name in ("neuron0", "neuron1", "neuron_extra", "null"):
        (root / name).write_text("")
    assert neuron_device_files(root) == [str(root / "neuron0"), str(root / "neuron1")]
    assert neuron_device_files(root / "missing") == []


def test_neuron_core_device_for_the_timing_loop() -> None:
    device = NeuronCoreDevice(torch.device("cpu"), target="trn1", cores="3")
    assert device.name == "AWS NeuronCore (trn1, core 3)"
    assert NeuronCoreDevice(torch.device("cpu")).name == "AWS NeuronCore (inf2)"
    assert not device.is_cuda
    device.synchronize()
    device.reset_peaks()
    device.limit_memory(100)
    assert (device.allocated(), device.max_allocated(), device.max_reserved()) == (None,) * 3
    assert is_neuron_device("neuron") and is_neuron_device("neuron:3")
    assert not is_neuron_device("cuda:0") and not is_neuron_device("cpu")
