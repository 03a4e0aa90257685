"""Training Results in reports (the training section, its plots) and in compare."""

from __future__ import annotations

from pathlib import Path

import pytest

from profilers.compare import compare, gate
from profilers.report import build_report, load_folder, render_report
from tests.tiny_models import result_of, run_in_process, tiny_spec


@pytest.fixture
def training_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "sweep"
    for batch in (2, 4):
        for seq_len in (20, 40):
            settings = {
                "mode": "train",
                "task": "classify",
                "batch_size": batch,
                "seq_len": seq_len,
                "max_iters": 2,
            }
            messages = run_in_process(monkeypatch, **settings)
            result = result_of(tiny_spec(**settings), messages)
            result.save(folder / f"b{batch}-l{seq_len}.json")
    return folder


def test_report_has_the_training_section(training_folder: Path) -> None:
    report = build_report(load_folder(training_folder))
    assert len(report.training) == 4
    assert {(r.batch_size, r.workload) for r in report.training} == {
        (b, f"len {n}") for b in (2, 4) for n in (20, 40)
    }
    assert all(
        r.sequences_per_s and r.peak_memory_mb and r.memory_kind == "RSS" for r in report.training
    )
    text = render_report(report, "md")
    assert "## Training" in text
    assert "seq/s" in text and "time to train" in text
    assert "classify full fp32" in text
    assert report.to_dict()["training"][0]["model"] == "tiny_esm"


def test_training_plots(training_folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from profilers.plots import plot_training

    report = build_report(load_folder(training_folder))
    drawn = plot_training(report.training, tmp_path / "plots")
    assert [d.kind for d in drawn] == ["training-throughput", "training-memory"]
    assert all(d.png.startswith(b"\x89PNG") for d in drawn)  # drawn in memory, saved by draw_report
    assert all(len(points) == 2 for d in drawn for points in d.series.values())


def test_compare_two_training_results(monkeypatch: pytest.MonkeyPatch) -> None:
    results = []
    for finetune in ("full", "head"):
        settings = {"mode": "train", "task": "classify", "finetune": finetune, "max_iters": 2}
        messages = run_in_process(monkeypatch, **settings)
        results.append(result_of(tiny_spec(**settings), messages))
    comparison = compare(*results)
    keys = {line.metric.key for line in comparison.lines}
    assert {"step", "steps", "forward", "backward", "optimizer", "optstate"} <= keys
    assert ("finetune", "full", "head") in comparison.spec_differences
    step = next(line for line in comparison.lines if line.metric.key == "step")
    assert step.a == pytest.approx(results[0].training["step_time"]["p50"] * 1000)
    assert gate(results[0], results[1], "step", 1000.0) is not None
