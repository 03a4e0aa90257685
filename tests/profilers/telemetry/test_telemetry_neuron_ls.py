from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from engines.errors import InvalidInputError
from profilers.telemetry import NeuronDevice, NeuronProcess, parse_neuron_ls, run_neuron_ls
from profilers.telemetry.neuron_ls import NeuronListing

LS = Path(__file__).resolve().parents[2] / "data" / "neuron" / "neuron-ls-inf2.xlarge.json"

EXPECTED = NeuronDevice(
    neuron_device=0,
    bdf="00:1f.0",
    nc_count=2,
    memory_size=34359738368,
    neuroncore_ids=(0, 1),
    processes=(
        NeuronProcess(pid=4121, command="python -m engines.worker", runtime_version="2.30.51.0"),
    ),
)


def test_fixture() -> None:
    assert parse_neuron_ls(LS.read_text()) == [EXPECTED]


def test_to_dict() -> None:
    assert EXPECTED.to_dict() == {
        "neuron_device": 0,
        "bdf": "00:1f.0",
        "nc_count": 2,
        "memory_size": 34359738368,
        "neuroncore_ids": [0, 1],
        "processes": [
            {"pid": 4121, "command": "python -m engines.worker", "runtime_version": "2.30.51.0"}
        ],
    }


def test_missing_and_odd_fields() -> None:
    text = json.dumps(
        [
            {},
            "not a device",
            {"neuron_device": "1", "neuroncore_ids": [2, "3", "x"], "neuron_processes": [5, {}]},
        ]
    )
    assert parse_neuron_ls(text) == [
        NeuronDevice(None, None, None, None),
        NeuronDevice(
            neuron_device=1,
            bdf=None,
            nc_count=None,
            memory_size=None,
            neuroncore_ids=(2, 3),
            processes=(NeuronProcess(None, None, None),),
        ),
    ]


@pytest.mark.parametrize("text", ["", "garbage", '{"neuron_device": 0}'])
def test_not_a_list(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_neuron_ls(text)


def _fake_tool(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-neuron-ls"
    script.write_text(f"#!{sys.executable}\n{body}")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_run_missing_tool() -> None:
    listing = run_neuron_ls("plmprof-no-such-neuron-ls")
    assert listing.devices is None
    assert listing.status == "plmprof-no-such-neuron-ls not found on PATH"


def test_run_fake_tool(tmp_path: Path) -> None:
    tool = _fake_tool(
        tmp_path,
        "import sys\n"
        "assert sys.argv[1:] == ['--json-output'], sys.argv\n"
        f"print(open({str(LS)!r}).read())\n",
    )
    assert run_neuron_ls(tool) == NeuronListing([EXPECTED], "ok")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (
            "import sys\nprint('nrt: no device', file=sys.stderr)\nsys.exit(1)\n",
            "exited with code 1: nrt: no device",
        ),
        ("print('No Neuron devices found')\n", "printed no device list (neuron-ls output is not"),
    ],
)
def test_run_failing_tool_says_how_it_failed(tmp_path: Path, body: str, status: str) -> None:
    listing = run_neuron_ls(_fake_tool(tmp_path, body))
    assert listing.devices is None and status in listing.status


def test_run_hanging_tool(tmp_path: Path) -> None:
    tool = _fake_tool(tmp_path, "import time\ntime.sleep(30)\n")
    listing = run_neuron_ls(tool, timeout_s=0.5)
    assert listing.devices is None and listing.status.endswith("gave no answer within 0.5 s")
