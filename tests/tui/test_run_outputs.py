"""The files ``plmprof run`` and ``plmprof report`` write: refused before anything runs when they
would overwrite a file or go through a symbolic link; a Result that cannot be saved is still
delivered, with one line saying why."""

from __future__ import annotations

import errno
import functools
import json
import os
from pathlib import Path

import pytest
from fake_engine import sleeping_worker

from engines.spec import RunSpec
from profilers import files
from profilers.result import Result, load_result
from profilers.session import Session
from tui.cli import invoke
from tui.commands import run_command

FAST = ["--seq-len", "32", "-b", "2", "--warmup", "0", "--duration", "0.01"]
FAST += ["--min-iters", "3", "--max-iters", "3"]


@pytest.fixture
def fake_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """``plmprof run`` with the sleeping fake engine instead of a model (a spawned process)."""
    monkeypatch.setattr(
        run_command, "Session", functools.partial(Session, worker_target=sleeping_worker)
    )


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = invoke(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, captured.out, " ".join(captured.err.split())


def test_an_existing_output_is_refused_before_the_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    mine = tmp_path / "mine.json"
    mine.write_text("the user's file")
    results = tmp_path / "results"
    code, _, err = _run(capsys, "run", *FAST, "-o", str(mine), "--results-dir", str(results))
    assert code == 2
    assert f"'{mine}' exists; add --force to overwrite it" in err
    assert mine.read_text() == "the user's file"
    assert not results.exists()  # refused before the run and before the folder was made


def test_an_output_that_is_a_symbolic_link_is_refused_even_with_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "out.json").symlink_to(victim)
    for extra in ([], ["--force"]):
        code, _, err = _run(
            capsys, "run", *FAST, "-o", str(tmp_path / "out.json"), *extra,
            "--results-dir", str(tmp_path / "r"),
        )  # fmt: skip
        assert code == 2
        assert "symbolic link" in err
    assert victim.read_text() == "precious"


def test_live_json_is_not_touched_when_the_run_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    live = tmp_path / "live.jsonl"
    live.write_text('{"from": "an earlier run"}\n')
    code, _, err = _run(
        capsys, "run", "--model", "esm2_nope", "--live-json", str(live), "--force",
        "--results-dir", str(tmp_path / "r"),
    )  # fmt: skip
    assert code == 2 and "unknown model" in err
    assert live.read_text() == '{"from": "an earlier run"}\n'
    code, _, err = _run(
        capsys, "run", "--duration", "nan", "--live-json", str(tmp_path / "new.jsonl"),
        "--results-dir", str(tmp_path / "r"),
    )  # fmt: skip
    assert code == 2 and "finite" in err
    assert not (tmp_path / "new.jsonl").exists()
    code, _, err = _run(
        capsys, "run", "--live-json", str(live), "--results-dir", str(tmp_path / "r")
    )
    assert code == 2 and "exists; add --force" in err
    assert live.read_text() == '{"from": "an earlier run"}\n'
    assert not (tmp_path / "r").exists()


def test_a_results_folder_that_is_a_file_is_refused_before_the_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "results"
    blocker.write_text("not a folder")
    code, _, err = _run(capsys, "run", *FAST, "--results-dir", str(blocker))
    assert code == 2
    assert f"the results folder '{blocker}' is a file, not a folder" in err


def _full_disk_under(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file written into ``folder`` fails as on a full disk (at its rename)."""
    real_link = os.link

    def link(source: str, target: str) -> None:
        if Path(target).parent == folder:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_link(source, target)

    monkeypatch.setattr(files.os, "link", link)


@pytest.mark.usefixtures("fake_worker")
def test_a_result_that_cannot_be_saved_is_printed_instead(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "results"
    _full_disk_under(results, monkeypatch)
    code, out, err = _run(capsys, "run", *FAST, "--results-dir", str(results))
    assert code == 1
    assert "the result was not saved: cannot write" in err
    assert "No space left on device" in err
    result = Result.from_dict(json.loads(out[out.index("{") :]))
    assert result.status == "ok" and result.latency is not None
    assert result.latency["count"] == 3
    assert list(results.iterdir()) == []  # no temporary file left behind


@pytest.mark.usefixtures("fake_worker")
def test_a_result_that_cannot_be_saved_still_reaches_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "results"
    _full_disk_under(results, monkeypatch)
    elsewhere = tmp_path / "other-disk" / "run.json"
    code, _, err = _run(capsys, "run", *FAST, "-o", str(elsewhere), "--results-dir", str(results))
    assert code == 1
    assert "the result was not saved" in err
    assert load_result(elsewhere).status == "ok"
    assert list(results.iterdir()) == []


@pytest.mark.usefixtures("fake_worker")
def test_force_overwrites_output_and_a_fresh_run_saves(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "run.csv"
    out.write_text("old")
    results = tmp_path / "results"
    argv = ["run", *FAST, "-o", str(out), "--force", "--results-dir", str(results)]
    code, _, _ = _run(capsys, *argv)
    assert code == 0
    assert out.read_text().startswith("run_id,")
    (saved,) = results.glob("*.json")
    assert load_result(saved).status == "ok"


def test_report_refuses_to_overwrite_and_to_follow_links(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "runs"
    saved = Result("a1", "2026-01-01T00:00:00+00:00", "ok", RunSpec().to_dict(), {}, {})
    saved.save(folder / "a1.json")
    report = tmp_path / "report.md"
    report.write_text("kept")
    code, _, err = _run(capsys, "report", str(folder), "-o", str(report))
    assert code == 2 and "exists; add --force" in err
    assert report.read_text() == "kept"
    code, _, _ = _run(capsys, "report", str(folder), "-o", str(report), "--force")
    assert code == 0 and report.read_text().startswith("#")
    link = tmp_path / "link.md"
    link.symlink_to(report)
    code, _, err = _run(capsys, "report", str(folder), "-o", str(link), "--force")
    assert code == 2 and "symbolic link" in err
    assert report.read_text().startswith("#")
