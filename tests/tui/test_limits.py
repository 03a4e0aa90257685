"""Bounds and numbers: what a host can hold, non-finite input, strict JSON out, the memory cap."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from engines.errors import InvalidInputError
from engines.host_limits import check_host, worker_floor_mb
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from tui.cli import invoke

DATA = Path(__file__).resolve().parents[1] / "data" / "neuron"


def _refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = invoke(list(argv))
    captured = capsys.readouterr()
    text = " ".join((captured.err + captured.out).split())
    assert code == 2, text
    assert "Traceback" not in text
    return text


def test_more_workers_than_memory_holds_are_refused_naming_how_many_fit() -> None:
    floor = worker_floor_mb(RunSpec())
    with pytest.raises(InvalidInputError) as caught:
        check_host(RunSpec(workers=1000), available_mb=24_000, cores=2)
    message = str(caught.value)
    assert "1000 workers of esm2_t6_8M need at least" in message
    assert f"use --workers {24_000 // floor} or fewer" in message
    with pytest.raises(InvalidInputError, match="use a smaller model"):
        check_host(RunSpec(model="esm2_t36_3B"), available_mb=10_000, cores=2)


def test_more_cpu_workers_than_cores_is_flagged_not_refused() -> None:
    assert check_host(RunSpec(workers=2), available_mb=10**6, cores=2) == []
    (warning,) = check_host(RunSpec(workers=4), available_mb=10**6, cores=2)
    assert warning.startswith("contention: 4 CPU workers on 2 cores")


def test_workers_1000_is_refused_before_any_process_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = _refused(capsys, "run", "--workers", "1000", "--results-dir", str(tmp_path / "r"))
    assert "1000 workers of esm2_t6_8M need at least" in text
    assert not (tmp_path / "r").exists()


def test_a_huge_batch_is_a_clear_error_not_memory_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    began = time.monotonic()
    text = _refused(capsys, "run", "-b", "1000000000", "--results-dir", str(tmp_path / "r"))
    assert "a synthetic workload of 4,000,000,000 sequences" in text
    assert "lower --batch-size" in text
    assert time.monotonic() - began < 30  # refused from arithmetic, nothing generated


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--duration", "nan"], "--duration must be a finite number (got 'nan')"),
        (["--duration", "inf"], "--duration must be a finite number (got 'inf')"),
        (["--telemetry-interval", "nan"], "--telemetry-interval must be a finite number"),
        (["--price-per-hour", "inf"], "--price-per-hour must be a finite number"),
        (["--peak-tflops", "nan"], "--peak-tflops must be a finite number"),
        (["--memory-limit", "0"], "memory size '0' must be more than 0"),
        (["--memory-limit", "0GB"], "memory size '0GB' must be more than 0"),
    ],
)
def test_non_finite_and_zero_numbers_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], words: str
) -> None:
    assert words in _refused(capsys, "run", *argv, "--results-dir", str(tmp_path / "r"))


def test_options_refuse_non_finite_values() -> None:
    with pytest.raises(InvalidInputError, match="finite"):
        MeasureOptions(window_s=float("inf"))
    with pytest.raises(InvalidInputError, match="finite"):
        RunSpec(duration_s=float("nan"))


def test_top_refuses_an_endless_interval(capsys: pytest.CaptureFixture[str]) -> None:
    text = _refused(capsys, "top", "--interval", "inf")
    assert "--interval must be at least 0.05 s and finite (got inf)" in text


def _strict(text: str) -> object:
    def refuse(token: str) -> None:
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_nan_telemetry_never_reaches_top_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no neuron-monitor, no neuron-ls
    replay = tmp_path / "nan.jsonl"
    original = (DATA / "neuron-monitor-inf2.xlarge.jsonl").read_text()
    assert "87.9" in original
    replay.write_text(original.replace("87.9", "NaN"))
    code = invoke(["top", "--once", "--json", "--interval", "0.05",
                   "--neuron-monitor-replay", str(replay)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    data = _strict(out)
    assert isinstance(data, dict)
    assert data["neuron"]["cores"][1]["utilization_pct"] is None
