"""``plmprof devices``: Neuron devices from a fake ``neuron-ls``, GPUs from a fake NVML, and the
EC2 instance type from a DMI file; each shown in the inventory, the report and the CLI."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pynvml
import pytest

import profilers.inventory as inventory_module
from profilers.cost import read_instance_type
from profilers.inventory import device_inventory
from tui.cli import invoke
from tui.commands.device_report import device_report

NEURON_LS_JSON = (
    Path(__file__).resolve().parents[1] / "data" / "neuron" / "neuron-ls-inf2.xlarge.json"
)
CAT = shutil.which("cat")


def _rows(title: str) -> dict[str, str]:
    return dict(dict(device_report())[title])


@pytest.fixture
def bin_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A PATH of one empty folder (no real neuron-ls), NVML failing to start, no DMI type."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.setenv("COLUMNS", "200")  # tables are not cut short in the captured output

    def refuse() -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlInit", refuse)
    monkeypatch.setattr(inventory_module, "read_instance_type", lambda: None)
    return folder


def _script(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def fake_neuron_ls(bin_dir: Path) -> Path:
    assert CAT is not None
    _script(
        bin_dir, "neuron-ls", f'[ "$1" = "--json-output" ] || exit 9\nexec {CAT} "{NEURON_LS_JSON}"'
    )
    return bin_dir


class FakeNvml:
    """Two GPUs with names, memory, power limits; a driver and a CUDA driver version."""

    GPUS = (
        ("NVIDIA H100 80GB HBM3", 85_520_809_984, 700_000),
        ("NVIDIA A10G", 24_146_608_128, 300_000),
    )

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in dir(self):
            if name.startswith("nvml"):
                monkeypatch.setattr(pynvml, name, getattr(self, name))

    def nvmlInit(self) -> None:
        pass

    def nvmlShutdown(self) -> None:
        pass

    def nvmlDeviceGetCount(self) -> int:
        return len(self.GPUS)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, handle: int) -> bytes:
        return self.GPUS[handle][0].encode()  # older bindings return bytes

    def nvmlDeviceGetUUID(self, handle: int) -> str:
        return f"GPU-{handle:04d}"

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        return SimpleNamespace(total=self.GPUS[handle][1], used=0, free=self.GPUS[handle][1])

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: int) -> int:
        return self.GPUS[handle][2]

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> Any:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

    def nvmlSystemGetDriverVersion(self) -> str:
        return "550.54.15"

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return 12040


# --- Neuron through neuron-ls ---------------------------------------------------------------


def test_neuron_ls_devices_reach_the_inventory(fake_neuron_ls: Path) -> None:
    neuron = device_inventory()["neuron"]
    assert neuron["neuron_ls"] == "ok"
    (device,) = neuron["devices"]
    assert device["neuron_device"] == 0
    assert device["nc_count"] == 2
    assert device["neuroncore_ids"] == [0, 1]
    assert device["memory_size"] == 34_359_738_368
    assert device["bdf"] == "00:1f.0"
    assert device["processes"] == [
        {"pid": 4121, "command": "python -m engines.worker", "runtime_version": "2.30.51.0"}
    ]


def test_neuron_ls_devices_in_the_report(fake_neuron_ls: Path) -> None:
    rows = _rows("AWS Neuron")
    assert rows["neuron-ls"] == "ok"
    assert rows["device 0"] == "2 NeuronCores, 34.4 GB, bdf 00:1f.0"


def test_devices_command_lists_the_neuron_device(
    fake_neuron_ls: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert invoke(["devices"]) == 0
    out = capsys.readouterr().out
    assert "AWS Neuron" in out
    assert "device 0" in out
    assert "2 NeuronCores, 34.4 GB" in out


def test_without_neuron_ls_the_report_says_so(bin_dir: Path) -> None:
    rows = _rows("AWS Neuron")
    assert rows["neuron-ls"] == "neuron-ls not found on PATH"
    assert not any(key.startswith("device ") for key in rows)


# --- NVIDIA through NVML --------------------------------------------------------------------


def test_nvml_gpus_reach_the_inventory(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    FakeNvml(monkeypatch)
    nvml = device_inventory()["nvml"]
    assert nvml["available"] is True
    assert nvml["reason"] is None
    first, second = nvml["gpus"]
    assert first == {
        "index": 0,
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": "GPU-0000",
        "memory_total_bytes": 85_520_809_984,
        "power_limit_w": 700.0,
        "driver_version": "550.54.15",
        "cuda_driver_version": "12.4",
    }
    assert second["name"] == "NVIDIA A10G"


def test_nvml_gpus_in_the_report_and_the_command(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    FakeNvml(monkeypatch)
    rows = _rows("NVIDIA GPUs")
    assert rows["NVML"] == "available"
    assert rows["GPU 0"] == (
        "NVIDIA H100 80GB HBM3, 85.5 GB, 700 W limit, driver 550.54.15, CUDA 12.4"
    )
    assert rows["GPU 1"] == "NVIDIA A10G, 24.1 GB, 300 W limit, driver 550.54.15, CUDA 12.4"
    assert invoke(["devices"]) == 0
    out = capsys.readouterr().out
    for words in ("NVIDIA H100 80GB HBM3", "85.5 GB", "driver 550.54.15", "CUDA 12.4"):
        assert words in out


def test_without_nvml_the_report_says_why(bin_dir: Path) -> None:
    rows = _rows("NVIDIA GPUs")
    assert rows["NVML"].startswith("NVML not available: ")
    assert not any(key.startswith("GPU ") for key in rows)


# --- the instance type ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("product_name", "shown"),
    [
        (b"inf2.xlarge\n", "inf2.xlarge"),
        (b"Standard PC (Q35 + ICH9, 2009)\n", "not on EC2 (or not readable)"),
    ],
)
def test_instance_type_from_dmi(
    bin_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    product_name: bytes,
    shown: str,
) -> None:
    dmi = tmp_path / "product_name"
    dmi.write_bytes(product_name)
    monkeypatch.setattr(inventory_module, "read_instance_type", lambda: read_instance_type(dmi))
    assert _rows("CPU")["instance type"] == shown


def test_inventory_is_plain_data(fake_neuron_ls: Path) -> None:
    inventory = device_inventory()
    assert set(inventory) == {"cpu", "cuda", "nvml", "neuron", "gaudi", "instance_type"}
    assert inventory["cpu"]["logical_cores"] == os.cpu_count()


# --- a CUDA build of torch: the GPUs it would see, from NVML, without importing torch ---------

CUDA_BUILD = ("2.13.0+cu124", "12.4")


@pytest.mark.parametrize(
    ("setting", "seen"),
    [
        (None, [0, 1, 2]),
        ("2,0", [2, 0]),
        (" 1 ", [1]),
        ("GPU-0002", [2]),
        ("GPU-00", []),  # a prefix naming two GPUs names none
        ("MIG-0001", []),
        ("1,7,0", [1]),  # the list ends at the first entry that names no GPU
        ("1,1,0", [1]),  # ... or one already listed
        ("", []),
        ("-1", []),
    ],
)
def test_cuda_visible_devices_read_as_cuda_reads_them(setting: str | None, seen: list[int]) -> None:
    from profilers.telemetry.nvml import cuda_visible

    gpus = [(0, "GPU-0000-aaaa"), (1, "GPU-0001-bbbb"), (2, "GPU-0002-cccc")]
    assert cuda_visible(setting, gpus) == seen


_DEVICES_ON_A_CUDA_BUILD = """
import json, os, sys
sys.path.insert(0, {tests!r})
import pytest
import profilers.inventory as inventory
from test_inventory import CUDA_BUILD, FakeNvml
from tui.cli import invoke
patch = pytest.MonkeyPatch()
FakeNvml(patch)
patch.setattr(inventory, "torch_build", lambda: CUDA_BUILD)
patch.setattr(inventory, "read_instance_type", lambda: None)
code = invoke(["devices"])
sys.stdout.flush()
print(json.dumps({{"code": code, "torch": "torch" in sys.modules}}), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("setting", "shown"),
    [(None, "cuda:0, cuda:1"), ("1", "cuda:0 = GPU 1"), ("GPU-0001,GPU-0000", "cuda:0 = GPU 1")],
)
def test_devices_on_a_cuda_build_lists_gpus_through_nvml_without_torch(
    bin_dir: Path, setting: str | None, shown: str
) -> None:
    import json
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env["COLUMNS"] = "200"
    if setting is not None:
        env["CUDA_VISIBLE_DEVICES"] = setting
    tests = str(Path(__file__).resolve().parent)
    done = subprocess.run(
        [sys.executable, "-c", _DEVICES_ON_A_CUDA_BUILD.format(tests=tests)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    report = json.loads(done.stderr.rstrip("\n").split("\n")[-1])
    assert report == {"code": 0, "torch": False}, done.stderr
    assert "CUDA 12.4" in done.stdout
    expected = "cuda:0 = GPU 1, cuda:1 = GPU 0" if setting == "GPU-0001,GPU-0000" else shown
    row = next(line for line in done.stdout.splitlines() if "│ devices " in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")] == ["devices", expected], row
    assert "listed by" not in done.stdout


def test_devices_on_a_cuda_build_without_nvml_asks_torch_and_says_why(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory_module, "torch_build", lambda: CUDA_BUILD)
    monkeypatch.setattr(inventory_module, "cuda_devices", lambda: ["cuda:0"])  # torch's answer
    rows = _rows("NVIDIA GPUs")
    assert rows["devices"] == "cuda:0"
    assert rows["listed by"].startswith("NVML not available: ")
    assert rows["listed by"].endswith("; asked torch instead")


def test_a_cuda_visible_devices_naming_no_gpu_is_said(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeNvml(monkeypatch)
    monkeypatch.setattr(inventory_module, "torch_build", lambda: CUDA_BUILD)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    assert _rows("NVIDIA GPUs")["devices"] == (
        "no CUDA device visible: CUDA_VISIBLE_DEVICES='5' names none NVML found"
    )
