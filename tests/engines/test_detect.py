"""What ``plmprof devices`` reads without importing torch agrees with torch itself."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from engines.detect import default_torch_threads, torch_build


def test_torch_build_read_from_its_version_file() -> None:
    assert torch_build() == (torch.__version__, torch.version.cuda)


def test_default_threads_match_a_fresh_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    # torch.set_num_threads elsewhere in the test run changes this process's count, so the
    # comparison is with what a fresh interpreter starts with.
    fresh = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"},
    )
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert default_torch_threads() == int(fresh.stdout)


def test_omp_num_threads_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert default_torch_threads() == 3
