"""SIGTERM and SIGHUP (a dropped SSH session) take Ctrl-C's path, through a real ``plmprof``
process with real workers: the measured part is saved as an ``interrupted`` Result, the workers
end, nothing prints a traceback, and a sweep is left resumable."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from processes import still_running

pytestmark = pytest.mark.e2e


def _start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    exe = shutil.which("plmprof")
    command = [exe] if exe else [sys.executable, "-c", "from tui.cli import main; main()"]
    return subprocess.Popen(
        [*command, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
    )


def _start_sweep(cwd: Path) -> subprocess.Popen[str]:
    """A two-point sweep into ``cwd/sweep`` whose points each measure for up to 120 s."""
    return _start(
        "sweep", "--model", "esm2_t6_8M", "--seq-len", "32", "--batch-sizes", "1,2",
        "--duration", "120", "--warmup", "1", "--output", "sweep",
        cwd=cwd,
    )  # fmt: skip


def _wait_until(done: Callable[[], object], seconds: float = 120) -> None:
    """Poll ``done`` until it is true or ``seconds`` have passed (the test's asserts then say
    what did not happen)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not done():
        time.sleep(0.2)


def _wait_for_batches(live: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        lines = live.read_text().splitlines() if live.exists() else []
        if lines and json.loads(lines[-1])["batches"] >= count:
            return
        time.sleep(0.2)
    raise AssertionError("the run never measured")


def _workers(pid: int) -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process(pid).children(recursive=True)
        if "resource_tracker" not in " ".join(child.cmdline())
    ]


@pytest.mark.parametrize(
    ("number", "to_group"),
    [(signal.SIGTERM, False), (signal.SIGHUP, True)],
    ids=["sigterm-to-the-command", "sighup-to-the-session"],
)
def test_a_stop_signal_saves_what_was_measured(
    tmp_path: Path, number: signal.Signals, to_group: bool
) -> None:
    process = _start(
        "run", "--seq-len", "32", "--batch-size", "2", "--duration", "120", "--warmup", "1",
        "--live-json", "live.jsonl", "--output", "stopped.json",
        cwd=tmp_path,
    )  # fmt: skip
    _wait_for_batches(tmp_path / "live.jsonl", 3, process)
    workers = _workers(process.pid)
    assert workers, "a worker process should be running"
    if to_group:
        os.killpg(process.pid, number)  # what a terminal hang-up delivers
    else:
        os.kill(process.pid, number)  # what `kill PID`, systemd or a batch scheduler sends
    _, stderr = process.communicate(timeout=90)
    assert process.returncode == 128 + number, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
    result = json.loads((tmp_path / "stopped.json").read_text())
    assert result["status"] == "interrupted"
    assert result["latency"]["count"] >= 3
    (saved,) = (tmp_path / "plmprof-results").glob("*.json")
    assert json.loads(saved.read_text())["run_id"] == result["run_id"]
    alive = still_running(workers, timeout=5)
    assert not alive, f"workers outlived the command: {[p.pid for p in alive]}"


def test_sigterm_stops_a_sweep_resumably(tmp_path: Path) -> None:
    process = _start_sweep(tmp_path)
    _wait_until(lambda: _workers(process.pid))
    time.sleep(8)  # let the worker load and measure a little
    workers = _workers(process.pid)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=90)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
    assert "--resume" in stderr
    sweep = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert sweep["interrupted"] is True
    statuses = [point["status"] for point in sweep["points"]]
    assert statuses == ["interrupted", "pending"]
    assert not still_running(workers, timeout=5)


def test_two_resumes_of_one_sweep_folder_never_both_run(tmp_path: Path) -> None:
    first = _start_sweep(tmp_path)
    _wait_until((tmp_path / "sweep" / "sweep.json").exists)
    second = _start("sweep", "--resume", "--output", "sweep", cwd=tmp_path)
    _, stderr = second.communicate(timeout=120)
    assert second.returncode == 2, stderr
    message = " ".join(stderr.split())
    assert f"is in use by another plmprof (pid {first.pid} since" in message
    assert "Traceback" not in stderr
    first.send_signal(signal.SIGTERM)
    _, stderr = first.communicate(timeout=90)
    assert first.returncode == 128 + signal.SIGTERM, stderr
    sweep = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    for point in sweep["points"]:  # every point it names as saved is there
        if point["status"] not in ("pending", "interrupted") or point["run_id"]:
            assert (tmp_path / "sweep" / point["file"]).exists()
