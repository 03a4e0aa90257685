"""``plmprof top``: the data side (profilers.top), the drawing, the CLI, keys and exits."""

from __future__ import annotations

import io
import json
import os
import pty
import shutil
import stat
import termios
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pynvml
import pytest
from rich.console import Console

from engines.errors import InvalidInputError
from profilers.telemetry.nvml import NvmlSampler
from profilers.top import TopMonitor, TopSnapshot
from tui.cli import invoke
from tui.commands.keys import KeyReader
from tui.commands.top_command import live_view
from tui.render.top import gauge, render_top
from tui.widgets.units import size

DATA = Path(__file__).resolve().parents[1] / "data" / "neuron"
REPLAY = DATA / "neuron-monitor-inf2.xlarge.jsonl"
EDGE = DATA / "neuron-monitor-edge-cases.jsonl"
# Found before the tests empty PATH.
CAT, SLEEP = shutil.which("cat"), shutil.which("sleep")


@pytest.fixture
def no_tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty PATH (neither neuron-monitor nor neuron-ls) and NVML that fails to start."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    def refuse() -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlInit", refuse)
    return empty


def _fake_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """One H100 that answers every query NVML top draws; process 111 holds 1 GiB on it."""
    calls: dict[str, Any] = {
        "nvmlInit": lambda: None,
        "nvmlShutdown": lambda: None,
        "nvmlDeviceGetCount": lambda: 1,
        "nvmlDeviceGetHandleByIndex": lambda index: f"gpu{index}",
        "nvmlDeviceGetName": lambda handle: "NVIDIA H100 80GB HBM3",
        "nvmlDeviceGetUUID": lambda handle: "GPU-1234",
        "nvmlDeviceGetUtilizationRates": lambda handle: SimpleNamespace(gpu=97, memory=41),
        "nvmlDeviceGetMemoryInfo": lambda handle: SimpleNamespace(
            total=80 * 2**30, used=20 * 2**30, free=60 * 2**30
        ),
        "nvmlDeviceGetPowerUsage": lambda handle: 350_000,
        "nvmlDeviceGetEnforcedPowerLimit": lambda handle: 700_000,
        "nvmlDeviceGetTemperature": lambda handle, sensor: 61,
        "nvmlDeviceGetClockInfo": lambda handle, clock: 1980,
        "nvmlDeviceGetTotalEnergyConsumption": lambda handle: 123_456,
        "nvmlDeviceGetComputeRunningProcesses": lambda handle: [
            SimpleNamespace(pid=os.getpid(), usedGpuMemory=2**30)
        ],
    }
    for name, call in calls.items():
        monkeypatch.setattr(pynvml, name, call)


def _text(renderable: Any, width: int = 160) -> str:
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = invoke(["top", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


# --- data side ------------------------------------------------------------------------------


def test_replay_snapshot_has_every_source_and_its_state(no_tools: Path) -> None:
    with TopMonitor(0.05, neuron_replay=REPLAY) as top:
        snapshot = top.first_snapshot()
    data = snapshot.to_dict()
    assert {"t", "host", "gpus", "neuron", "sources", "interval_s", "process_names"} <= set(data)
    assert data["host"]["cpu_percent_per_core"]
    assert data["gpus"] == []
    assert data["sources"]["host"] == {
        "available": True,
        "reason": None,
        "mode": None,
        "replay_file": None,
    }
    assert data["sources"]["nvml"]["available"] is False
    assert data["sources"]["nvml"]["reason"].startswith("NVML not available: ")
    assert data["sources"]["neuron"] == {
        "available": True,
        "reason": None,
        "mode": "replay",
        "replay_file": str(REPLAY),
    }
    cores = data["neuron"]["cores"]
    assert [core["index"] for core in cores] == [0, 1]
    assert cores[0]["utilization_pct"] == 88.73
    assert data["neuron"]["total_latency"]["p50"] == 0.00122
    # The replay's runtime pid (4121) belongs to the recording machine: never named here.
    assert data["process_names"] == {}
    json.dumps(data)  # plain JSON all the way down


def test_replay_plays_reports_in_order_and_loops(no_tools: Path) -> None:
    cores = []
    with TopMonitor(0.05, neuron_replay=REPLAY) as top:
        for _ in range(3):
            neuron = top.snapshot().sample.neuron
            assert neuron is not None
            cores.append(neuron.cores[0].utilization_pct)
    first, second = cores[0], cores[1]
    assert first == 88.73 and second != first
    assert cores[2] == first  # two recorded reports, then back to the first


def test_missing_sources_say_why(no_tools: Path) -> None:
    with TopMonitor(0.05) as top:
        snapshot = top.first_snapshot()
    sources = snapshot.sources
    assert sources["neuron"].available is False
    assert sources["neuron"].mode == "live"
    assert sources["neuron"].reason == "neuron-monitor not found on PATH"
    assert sources["nvml"].reason is not None
    assert sources["nvml"].reason.startswith("NVML not available")
    assert snapshot.sample.neuron is None


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "garbage"])
def test_bad_replay_files_are_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "capture.jsonl"
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_text("")
    elif kind == "garbage":
        path.write_bytes(b"\x00\x01not json\n{broken\n")
    with pytest.raises(InvalidInputError, match="replay file"):
        TopMonitor(0.05, neuron_replay=path)


def test_interval_must_be_sensible() -> None:
    for bad in (0.0, -1.0, float("nan"), 0.001):
        with pytest.raises(InvalidInputError, match="--interval"):
            TopMonitor(bad)


def test_live_neuron_monitor_from_path(no_tools: Path) -> None:
    """A fake neuron-monitor on PATH that prints the recording and then idles."""
    script = no_tools / "neuron-monitor"
    script.write_text(f"#!/bin/sh\n{CAT} '{REPLAY}'\nexec {SLEEP} 60\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    with TopMonitor(0.05) as top:
        snapshot = top.first_snapshot(wait_for_neuron_s=10.0)
    assert snapshot.sources["neuron"].available is True
    assert snapshot.sources["neuron"].mode == "live"
    assert snapshot.sample.neuron is not None
    assert len(snapshot.sample.neuron.cores) == 2


def test_a_neuron_monitor_that_dies_is_reported(no_tools: Path) -> None:
    script = no_tools / "neuron-monitor"
    script.write_text("#!/bin/sh\necho 'no Neuron device found' >&2\nexit 3\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    with TopMonitor(0.05) as top:
        snapshot = top.first_snapshot(wait_for_neuron_s=5.0)
        for _ in range(100):  # the reader thread notes the exit a moment later
            if snapshot.sources["neuron"].reason != "waiting for the first neuron-monitor report":
                break
            time.sleep(0.05)
            snapshot = top.snapshot()
    neuron = snapshot.sources["neuron"]
    assert neuron.available is False
    assert neuron.reason == "neuron-monitor exited with code 3: no Neuron device found"


def test_fake_gpu_is_sampled_and_its_processes_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_gpu(monkeypatch)
    with TopMonitor(0.05, nvml=NvmlSampler()) as top:
        snapshot = top.first_snapshot(wait_for_neuron_s=0.0)
    assert snapshot.sources["nvml"].available is True
    (gpu,) = snapshot.sample.gpus
    assert gpu.name == "NVIDIA H100 80GB HBM3"
    assert gpu.power_w == 350.0 and gpu.power_limit_w == 700.0
    assert os.getpid() in snapshot.process_names
    data = snapshot.to_dict()
    assert data["process_names"][str(os.getpid())] == snapshot.process_names[os.getpid()]


# --- drawing --------------------------------------------------------------------------------


def test_bar_and_sizes() -> None:
    # The TUI's one vocabulary (tui.widgets.units): "–" when unknown, decimal units.
    assert gauge(None).plain == "–"
    assert gauge(50.0, width=10).plain == "█████" + " " * 5 + "  50%"
    assert gauge(250.0, width=4).plain == "████ 250%"  # clipped bar, true figure
    assert size(None) == "–"
    assert size(0) == "0 B"
    assert size(196_608) == "197 kB"
    assert size(43_450_368) == "43.5 MB"
    assert size(80 * 2**30) == "85.9 GB"


def test_view_of_a_replay_without_nvml(no_tools: Path) -> None:
    with TopMonitor(0.05, neuron_replay=EDGE) as top:
        text = _text(render_top(top.first_snapshot()))
    assert "NVML not available: " in text
    assert "cpu0" in text and "mem" in text
    assert "NeuronCores" in text
    assert "74%" in text  # core 0 of the edge-case report
    for column in ("tensors", "constants", "model code", "scratchpad", "runtime"):
        assert column in text
    assert "runtime vCPU: user –" in text  # its vCPU group carried an error
    assert "groups reporting errors" in text
    assert "p50" in text and "1.22" in text


def test_view_of_a_gpu(monkeypatch: pytest.MonkeyPatch, no_tools: Path) -> None:
    _fake_gpu(monkeypatch)
    with TopMonitor(0.05, nvml=NvmlSampler()) as top:
        text = _text(render_top(top.first_snapshot(wait_for_neuron_s=0.0)))
    assert "NVIDIA H100 80GB HBM3" in text
    assert "97%" in text
    assert "21.5 GB / 85.9 GB" in text
    assert "350 / 700 W" in text
    assert "61.0 °C" in text and "1,980 MHz" in text
    assert f"{os.getpid()} " in text and "1.1 GB" in text
    assert "neuron-monitor not found" in text


# --- the command line -----------------------------------------------------------------------


def test_once_json_with_replay(capsys: pytest.CaptureFixture[str], no_tools: Path) -> None:
    code, out, _ = _cli(
        capsys, "--once", "--json", "--interval", "0.05", "--neuron-monitor-replay", str(REPLAY)
    )
    assert code == 0
    (line,) = out.splitlines()
    data = json.loads(line)
    assert data["neuron"]["cores"][1]["utilization_pct"] == 87.9
    assert data["sources"]["neuron"]["mode"] == "replay"
    assert data["sources"]["nvml"]["available"] is False


def test_once_json_says_neuron_monitor_not_found(
    capsys: pytest.CaptureFixture[str], no_tools: Path
) -> None:
    code, out, _ = _cli(capsys, "--once", "--json", "--interval", "0.05")
    assert code == 0
    data = json.loads(out)
    assert data["neuron"] is None
    assert data["sources"]["neuron"]["reason"] == "neuron-monitor not found on PATH"


def test_once_table(capsys: pytest.CaptureFixture[str], no_tools: Path) -> None:
    code, out, _ = _cli(capsys, "--once", "--interval", "0.05")
    assert code == 0
    assert "NVML not available" in out
    assert "neuron-monitor not found" in out
    assert "cpu0" in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--neuron-monitor-replay", "/nonexistent/capture.jsonl"], "does not exist"),
        (["--interval", "0"], "--interval must be at least"),
        (["--count", "0"], "--count must be at least 1"),
    ],
)
def test_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], no_tools: Path, argv: list[str], words: str
) -> None:
    code, _, err = _cli(capsys, "--once", "--json", *argv)
    assert code == 2
    assert words in " ".join(err.split())


def test_unreadable_replay_exits_2(
    capsys: pytest.CaptureFixture[str], no_tools: Path, tmp_path: Path
) -> None:
    capture = tmp_path / "capture.jsonl"
    capture.write_text("not a report\n")
    code, _, err = _cli(capsys, "--once", "--json", "--neuron-monitor-replay", str(capture))
    assert code == 2
    assert "holds no report" in err


def test_json_stream_counts_refreshes(capsys: pytest.CaptureFixture[str], no_tools: Path) -> None:
    argv = ["--json", "--count", "3", "--interval", "0.05", "--neuron-monitor-replay", str(REPLAY)]
    began = time.monotonic()
    code, out, _ = _cli(capsys, *argv)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 3
    times = [line["t"] for line in lines]
    assert times == sorted(times)
    assert time.monotonic() - began < 10


def test_piped_view_prints_one_frame_per_refresh(
    capsys: pytest.CaptureFixture[str], no_tools: Path
) -> None:
    code, out, _ = _cli(capsys, "--count", "2", "--interval", "0.05")
    assert code == 0
    assert out.count("cpu0") == 2


# --- the live view and its keys -------------------------------------------------------------


def test_q_quits_and_the_terminal_is_restored() -> None:
    leader, follower = pty.openpty()
    try:
        before = termios.tcgetattr(follower)
        with KeyReader(follower) as keys:
            assert keys.active
            assert termios.tcgetattr(follower)[3] & termios.ECHO == 0  # no echo while drawing
            assert keys.quit_pressed(0.05) is False
            os.write(leader, b"x")
            assert keys.quit_pressed(0.05) is False  # other keys are ignored
            os.write(leader, b"q")
            assert keys.quit_pressed(5.0) is True
        assert termios.tcgetattr(follower) == before
    finally:
        os.close(leader)
        os.close(follower)


def test_key_reader_on_a_pipe_only_waits() -> None:
    read_end, write_end = os.pipe()
    try:
        with KeyReader(read_end) as keys:
            assert not keys.active
            os.write(write_end, b"q")
            began = time.monotonic()
            assert keys.quit_pressed(0.05) is False
            assert time.monotonic() - began >= 0.04
    finally:
        os.close(read_end)
        os.close(write_end)


class _QuitAfter(KeyReader):
    """Says q was pressed once ``frames`` waits have passed."""

    def __init__(self, frames: int) -> None:
        super().__init__(None)
        self.waits = 0
        self.frames = frames

    def quit_pressed(self, timeout_s: float) -> bool:
        self.waits += 1
        return self.waits >= self.frames


def test_live_view_redraws_until_q(no_tools: Path) -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=140, height=60)
    keys = _QuitAfter(3)
    with TopMonitor(0.05, neuron_replay=REPLAY) as top:
        live_view(top, console, None, keys)
    drawn = screen.getvalue()
    assert keys.waits == 3
    assert drawn.count("NeuronCores") == 3  # one frame per refresh, then q
    assert "\x1b[?1049h" in drawn and "\x1b[?1049l" in drawn  # alternate screen left again


def test_ctrl_c_ends_cleanly(monkeypatch: pytest.MonkeyPatch, no_tools: Path) -> None:
    from tui.commands import top_command

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(top_command, "batch_view", interrupted)
    console = Console(file=io.StringIO())
    assert top_command.execute_top(0.05, False, False, None, None, console) == 0


def test_snapshot_dict_is_the_sample_plus_states(no_tools: Path) -> None:
    with TopMonitor(0.05) as top:
        snapshot: TopSnapshot = top.snapshot()
    data = snapshot.to_dict()
    sample = snapshot.sample.to_dict()
    assert {key: data[key] for key in sample} == sample
