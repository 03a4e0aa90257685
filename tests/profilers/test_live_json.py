"""``--live-json``: the real Session (spawned fake worker, real pipe) streams one JSON object per
line through the CLI's LiveOutput."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from fake_engine import sleeping_worker
from rich.console import Console

from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.session import Session
from tui.cli import invoke
from tui.commands.run_command import LiveOutput

BATCHES = 40
OPTIONS = MeasureOptions(telemetry_interval_s=0.1, snapshot_interval_s=0.05)


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], Any, str]:
    path = tmp_path_factory.mktemp("live") / "live.jsonl"
    status = io.StringIO()
    live = LiveOutput(Console(file=status, width=200), path.open("w", encoding="utf-8"))
    spec = RunSpec(
        seq_len=128,
        batch_size=4,
        warmup=1,
        duration_s=0.01,
        min_iters=BATCHES,
        max_iters=BATCHES,
    )
    try:
        result = Session(spec, OPTIONS, on_snapshot=live, worker_target=sleeping_worker).run()
    finally:
        live.close()
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]
    return lines, result, status.getvalue()


def test_every_line_is_one_json_object(streamed: tuple[list[dict[str, Any]], Any, str]) -> None:
    lines, _, _ = streamed
    assert len(lines) >= 5
    for line in lines:
        assert isinstance(line, dict)
        for key in ("elapsed_s", "phase", "progress", "batches", "latency_window", "workers"):
            assert key in line


def test_batches_never_go_back_and_the_last_line_is_complete(
    streamed: tuple[list[dict[str, Any]], Any, str],
) -> None:
    lines, result, _ = streamed
    batches = [line["batches"] for line in lines]
    assert batches == sorted(batches)
    assert any(0 < count < BATCHES for count in batches)  # seen while it ran, not only at the end
    progress = [line["progress"] for line in lines]
    assert all(0.0 <= value <= 1.0 for value in progress)
    last = lines[-1]
    assert last["progress"] == 1.0
    assert last["phase"] == "done"
    assert last["batches"] == BATCHES
    assert last["latency_total"]["count"] == BATCHES
    assert last["workers"][0]["status"] == "ok"
    assert result.status == "ok"
    assert result.latency["count"] == BATCHES


def test_elapsed_time_grows_and_telemetry_rides_along(
    streamed: tuple[list[dict[str, Any]], Any, str],
) -> None:
    lines, _, _ = streamed
    elapsed = [line["elapsed_s"] for line in lines]
    assert elapsed == sorted(elapsed)
    with_host = [line for line in lines if line["telemetry"] and line["telemetry"]["host"]]
    assert with_host, "host telemetry should appear in the live snapshots"
    assert with_host[-1]["telemetry"]["host"]["cpu_percent_per_core"]


def test_the_status_line_goes_to_the_console_not_the_stream(
    streamed: tuple[list[dict[str, Any]], Any, str],
) -> None:
    _, _, status = streamed
    assert "done" in status or "measuring" in status or "loading" in status
    assert not any(text.startswith("{") for text in status.splitlines())


def test_an_unwritable_live_json_path_exits_2_before_any_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "missing-folder" / "live.jsonl"
    code = invoke(["run", "--live-json", str(target), "--results-dir", str(tmp_path / "r")])
    captured = capsys.readouterr()
    assert code == 2
    assert "cannot write live JSON" in " ".join(captured.err.split())
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "r").exists()


def _fake_session(monkeypatch: pytest.MonkeyPatch) -> None:
    import tui.commands.run_command as run_command

    def session(spec: RunSpec, options: MeasureOptions, *, on_snapshot: Any = None) -> Session:
        return Session(spec, OPTIONS, on_snapshot=on_snapshot, worker_target=sleeping_worker)

    monkeypatch.setattr(run_command, "Session", session)


def test_live_json_on_stdout_leaves_stdout_to_the_json_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # `plmprof run --live-json - | jq`: the summary table and "result saved" go to stderr.
    _fake_session(monkeypatch)
    code = invoke(
        ["run", "--seq-len", "64", "--max-iters", "12", "--min-iters", "12", "--duration",
         "0.01", "--live-json", "-", "--results-dir", str(tmp_path / "r")]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0
    lines = captured.out.splitlines()
    assert len(lines) >= 2
    assert all(isinstance(json.loads(line), dict) for line in lines)
    assert "result saved to" in captured.err and "sequences/s" in captured.err


def test_live_json_and_an_export_cannot_both_take_stdout(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = invoke(["run", "--live-json", "-", "--export", "json", "--results-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 2
    assert "both write to stdout" in " ".join(captured.err.split())
    assert captured.out == ""
