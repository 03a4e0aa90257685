"""A sweep folder is never corrupted or mixed: one writer at a time, a resume with other settings
says what changed, a huge grid asks first, a full disk stops the sweep resumably."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from engines.spec import RunSpec
from profilers import files
from profilers.options import MeasureOptions
from profilers.report import load_folder
from profilers.result import Result
from profilers.sweep.store import LOCK_FILE, FolderLock
from tui.cli import invoke

REPO = Path(__file__).resolve().parents[2]
FAST = ["--seq-len", "32", "--duration", "0.5", "--min-iters", "3", "--warmup", "1"]
GRID = ["sweep", "--batch-sizes", "1,2,4", *FAST]


class Runner:
    """Stands in for the session: a Result per point, no process started."""

    def __init__(self) -> None:
        self.ran: list[RunSpec] = []

    def __call__(self, spec: RunSpec, options: MeasureOptions, on_snapshot: Any) -> Result:
        self.ran.append(spec)
        return Result(
            run_id=f"run{len(self.ran)}",
            created_at="2026-01-01T00:00:00+00:00",
            status="ok",
            spec=spec.to_dict(),
            options=options.to_dict(),
            environment={"cpu": "test CPU"},
            latency={"unit": "s", "p50": 0.1, "p90": 0.1, "p99": 0.2},
            throughput={"sequences_per_s": 10.0 * spec.batch_size},
        )


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Runner:
    fake = Runner()
    monkeypatch.setattr("tui.commands.sweep_command.session_runner", fake)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    return fake


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = invoke(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, " ".join(captured.err.split())


def test_a_second_writer_is_refused_while_the_folder_is_held(
    runner: Runner, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run([*GRID, "-o", "s"], capsys)[0] == 0
    before = (tmp_path / "s" / "sweep.json").read_text()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom profilers.sweep.store import FolderLock\n"
         "FolderLock(sys.argv[1]).acquire()\nprint('held', flush=True)\ntime.sleep(60)",
         str(tmp_path / "s")],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code, err = run(["sweep", "--resume", "-o", "s"], capsys)
        assert code == 2
        assert f"the sweep folder 's' is in use by another plmprof (pid {holder.pid} since" in err
        assert (tmp_path / "s" / "sweep.json").read_text() == before
    finally:
        holder.kill()
        holder.wait()
    ran = len(runner.ran)
    assert run(["sweep", "--resume", "-o", "s"], capsys)[0] == 0  # free again once it ended
    assert len(runner.ran) == ran  # every point was saved: nothing to rerun


def test_the_lock_is_released_when_the_sweep_ends(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    lock = FolderLock(tmp_path / "s").acquire()
    with pytest.raises(Exception, match="in use by another plmprof"):
        FolderLock(tmp_path / "s").acquire()
    lock.release()
    FolderLock(tmp_path / "s").acquire().release()
    assert (tmp_path / "s" / LOCK_FILE).exists()


def test_resume_with_a_changed_setting_says_what_changed(
    runner: Runner, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run([*GRID, "-o", "s"], capsys)[0] == 0
    assert len(runner.ran) == 3
    code, err = run(["sweep", "--resume", "-o", "s", "--duration", "2"], capsys)
    assert code == 2
    assert "--resume with settings other than the sweep saved in 's': duration_s: 0.5 -> 2" in err
    assert "another --output" in err and "--accept-changes" in err
    assert len(runner.ran) == 3  # nothing ran
    code, err = run(["sweep", "--resume", "-o", "s", "--duration", "2", "--accept-changes"], capsys)
    assert code == 0, err
    assert len(runner.ran) == 6
    assert "moved 3 Result(s) of the old settings to s/superseded" in err
    loaded = load_folder(tmp_path / "s")
    assert len(loaded.results) == 3  # the report holds one set of settings, not both
    assert {r.spec["duration_s"] for _, r in loaded.results} == {2.0}
    assert len(list((tmp_path / "s" / "superseded").glob("*.json"))) == 3


def test_resume_with_the_same_settings_runs_nothing_again(
    runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([*GRID, "-o", "s"], capsys)[0] == 0
    code, _ = run([*GRID, "--resume", "-o", "s"], capsys)
    assert code == 0 and len(runner.ran) == 3


def test_resume_without_a_saved_sweep_says_so(
    runner: Runner, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err = run(["sweep", "--resume", "-o", "nowhere"], capsys)
    assert code == 2
    assert "'nowhere' does not exist, so there is no sweep to resume" in err
    (tmp_path / "empty").mkdir()
    code, err = run(["sweep", "--resume", "-o", "empty"], capsys)
    assert code == 2
    assert "'empty' holds no sweep.json (a sweep writes it as it starts)" in err
    assert runner.ran == []


def test_a_large_grid_asks_for_yes_and_a_huge_one_is_refused(
    runner: Runner, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    long = ["sweep", "--batch-sizes", "1,2", "--seq-len", "32", "--duration", "10000"]
    code, err = run([*long, "-o", "long"], capsys)
    assert code == 2
    assert "this sweep is 2 points, about 5.6 h (10000 s measured + ~12 s start-up each)" in err
    assert "add --yes" in err and runner.ran == [] and not (tmp_path / "long").exists()
    sizes = ",".join(str(n) for n in range(1, 102))
    code, err = run(["sweep", "--batch-sizes", sizes, *FAST, "-o", "wide"], capsys)
    assert code == 2 and "this sweep is 101 points" in err
    code, err = run(["sweep", "--batch-sizes", "1,2", *FAST, "--yes", "-o", "ok"], capsys)
    assert code == 0 and "estimate: 2 points" in err
    began = time.monotonic()
    lens = ",".join(str(n) for n in range(1, 1001))
    code, err = run(["sweep", "--batch-sizes", sizes, "--seq-lens", lens, "--yes"], capsys)
    assert code == 2
    assert "the grid has 101,000 points, more than a sweep holds (100,000)" in err
    assert time.monotonic() - began < 30  # refused before any point is made


def test_a_full_disk_stops_the_sweep_resumably(
    runner: Runner,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_link, folder = os.link, tmp_path / "s"

    def link(source: str, target: str) -> None:  # Result files: the second point's fails
        if Path(target).resolve().parent == folder.resolve() and len(runner.ran) >= 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_link(source, target)

    monkeypatch.setattr(files.os, "link", link)
    code, err = run([*GRID, "-o", "s"], capsys)
    assert code == 1
    assert "the sweep stopped: cannot write" in err and "No space left on device" in err
    assert "continue with plmprof sweep --resume --output s" in err
    assert len(runner.ran) == 2  # it stopped at the point it could not save
    assert not list(folder.glob(".*.tmp"))
    saved = json.loads((folder / "sweep.json").read_text())
    assert [p["status"] for p in saved["points"]] == ["ok", "pending", "pending"]
    monkeypatch.setattr(files.os, "link", real_link)
    (folder / ".sweep.json.abc123.tmp").write_text("left by a killed writer")
    code, _ = run(["sweep", "--resume", "-o", "s"], capsys)
    assert code == 0 and len(runner.ran) == 4
    assert not list(folder.glob(".*.tmp"))
