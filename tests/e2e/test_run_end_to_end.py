"""`plmprof run` end to end on CPU with real worker processes and a real (small) ESM-2."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.session import Session

pytestmark = pytest.mark.e2e


def plmprof(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("plmprof")
    command = [exe] if exe else [sys.executable, "-c", "from tui.cli import main; main()"]
    return subprocess.run(
        [*command, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_run_exports_json_with_exact_flops_and_honest_throughput(tmp_path: Path) -> None:
    began = time.monotonic()
    run = plmprof(
        "run",
        "--model",
        "esm2_t6_8M",
        "--device",
        "cpu",
        "--dtype",
        "fp32",
        "--batch-size",
        "4",
        "--seq-len",
        "128",
        "--duration",
        "1",
        "--min-iters",
        "5",
        "--warmup",
        "1",
        "--export",
        "json",
        "--output",
        "result.json",
        cwd=tmp_path,
    )
    wall = time.monotonic() - began
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["schema_version"] == "1.0"
    assert result["status"] == "ok"
    assert result["spec"]["model"] == "esm2_t6_8M"
    assert result["model"]["parameters"] == 7_409_081
    assert result["efficiency"]["flops_per_sequence_mean"] == 2_046_720_000
    latency, rate = result["latency"], result["throughput"]
    assert latency["count"] >= 5
    assert rate["sequences"] == 4 * latency["count"]
    assert rate["tokens"] == 130 * rate["sequences"]
    assert rate["residues"] == 128 * rate["sequences"]
    # Bounded by our own clock: the measured window sits inside the command's wall time, and one
    # worker cannot finish batches faster than its fastest batch.
    assert rate["sequences"] / wall < rate["sequences_per_s"] <= 4 / latency["min"]
    assert result["memory"]["max_ram"] > 50
    assert result["timing"]["first_call_s"] > 0
    # start-up measured in the spawned worker, phase by phase, and inside the command's wall time
    startup = result["timing"]["startup"]
    assert [p["phase"] for p in startup] == [
        "process start", "importing", "planning", "building", "optimizing", "warming"
    ]  # fmt: skip
    assert 0 < sum(p["seconds"] for p in startup) < wall
    assert result["contention"]["method"]  # measured, contended or not
    assert result["memory"]["weights"]["by_dtype"]["torch.float32"] > 0
    assert result["workload"]["coverage"]["sequences_total"] > 0
    assert result["environment"]["torch"]
    saved = list((tmp_path / "plmprof-results").glob("*.json"))
    assert [p.stem for p in saved] == [result["run_id"]]
    assert "sequences/s" in run.stdout


def test_memory_cap_ends_in_oom_and_the_result_is_kept(tmp_path: Path) -> None:
    run = plmprof(
        "run",
        "--model",
        "esm2_t30_150M",
        "--memory-limit",
        "200MB",
        "--seq-len",
        "64",
        "--duration",
        "1",
        "--export",
        "json",
        "--output",
        "oom.json",
        cwd=tmp_path,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    result = json.loads((tmp_path / "oom.json").read_text())
    assert result["status"] == "oom"
    assert "out of memory" in result["message"]
    assert result["latency"] is None


def test_a_worker_killed_with_sigkill_ends_crashed() -> None:
    spec = RunSpec(seq_len=32, batch_size=2, duration_s=30.0, warmup=1)
    session: Session

    def kill_once_measuring(snapshot) -> None:
        record = session.collector.workers[0]
        if record.phase == "measuring" and record.iterations >= 2 and record.status is None:
            assert record.pid is not None
            os.kill(record.pid, signal.SIGKILL)

    session = Session(
        spec, MeasureOptions(snapshot_interval_s=0.05), on_snapshot=kill_once_measuring
    )
    result = session.run()
    assert result.status == "crashed"
    assert "SIGKILL" in result.message
    assert result.latency is not None and result.latency["count"] >= 2


def test_ctrl_c_keeps_what_was_measured(tmp_path: Path) -> None:
    exe = shutil.which("plmprof")
    command = [exe] if exe else [sys.executable, "-c", "from tui.cli import main; main()"]
    process = subprocess.Popen(
        [
            *command,
            "run",
            "--seq-len",
            "32",
            "--batch-size",
            "2",
            "--duration",
            "120",
            "--live-json",
            "live.jsonl",
            "--output",
            "stopped.json",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    live = tmp_path / "live.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        lines = live.read_text().splitlines() if live.exists() else []
        if lines and json.loads(lines[-1])["batches"] >= 3:
            break
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    result = json.loads((tmp_path / "stopped.json").read_text())
    assert result["status"] == "interrupted"
    assert result["latency"]["count"] >= 3


def test_a_capped_cpu_run_says_its_allocator_was_pinned(tmp_path: Path) -> None:
    run = plmprof(
        *("run", "--memory-limit", "2GB", "--seq-len", "32", "--duration", "0.2"),
        *("--max-iters", "2", "--warmup", "1", "--export", "json", "--output", "r.json"),
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    pinned = "memory cap: malloc pinned to 1 arena and a fixed 128 KiB mmap threshold"
    assert pinned in result["model"]["load_notes"]
    assert (
        f"{pinned} (so what fits repeats); speed may be lower than without --memory-limit"
        in (result["notes"])
    )
