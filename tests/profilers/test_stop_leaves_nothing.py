"""Stopping a run whose worker is still compiling, then quitting, in a fresh interpreter: the worker
is ended with END_SIGNAL and exits the ordinary way, so multiprocessing's resource tracker has no
leaked semaphore to warn about when the process ends (a worker killed outright leaves the lock it
held registered, and the tracker prints "resource_tracker: There appear to be 1 leaked semaphore
objects to clean up at shutdown")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SUPPORT = Path(__file__).resolve().parents[1] / "support"

SCRIPT = """
import threading, time
from fake_engine import compiling_worker
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.session import Session

asked = []

def stop_once_compiling(snapshot):
    if snapshot.phase == "compiling" and not asked:
        asked.append(time.monotonic())
        threading.Thread(target=session.stop).start()

session = Session(
    RunSpec(seq_len=64, batch_size=4, duration_s=60.0, workers={workers}),
    MeasureOptions(telemetry_interval_s=0.1, snapshot_interval_s=0.05),
    on_snapshot=stop_once_compiling,
    worker_target=compiling_worker,
)
result = session.run()
print("took", round(time.monotonic() - asked[0], 2))
print("status", result.status, [w["message"] for w in result.workers])
"""


def _quit_after_stop(workers: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SUPPORT), os.getcwd()])}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT.format(workers=workers)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_stop_during_compilation_then_quit_leaks_no_semaphore() -> None:
    for workers in (1, 2):
        done = _quit_after_stop(workers)
        assert done.returncode == 0, done.stderr
        ended = "stopped by the user while compiling (before it began measuring)"
        assert f"status interrupted {[ended] * workers}" in done.stdout, done.stdout
        assert "leaked semaphore" not in done.stderr, done.stderr
        assert "resource_tracker" not in done.stderr, done.stderr
        took = float(done.stdout.split("took ", 1)[1].split()[0])
        assert took < 5, done.stdout  # not the minute the compilation would take
