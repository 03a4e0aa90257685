"""A worker dies with its parent: a parent killed with SIGKILL (no chance to clean up) leaves no
orphan behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
from processes import still_running

REPO = Path(__file__).resolve().parents[2]
PARENT = """
import multiprocessing as mp
import os
import time

from engines.worker import die_with_parent


def child(parent: int) -> None:
    die_with_parent(parent)
    time.sleep(120)


if __name__ == "__main__":
    process = mp.get_context("spawn").Process(target=child, args=(os.getpid(),))
    process.start()
    print(process.pid, flush=True)
    time.sleep(120)
"""


def test_a_worker_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert parent.stdout is not None
        child = psutil.Process(int(parent.stdout.readline()))
        assert child.is_running()
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        assert not still_running([child], timeout=5), "the worker outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
