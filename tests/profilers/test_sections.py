"""Typed Result sections: Results written by earlier plmprof versions load; damaged files (junk
in any section) load with notes, and ``plmprof report`` on them never tracebacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from profilers.coerce import integer, number
from profilers.report import build_report, load_folder, read_result, render_report
from profilers.result import load_result
from profilers.sections import SECTIONS, Latency, Sections, Worker
from tui.cli import invoke

SAVED = Path(__file__).parent.parent / "data" / "results_1_0"


def test_results_written_by_plmprof_0_1_load_with_their_figures() -> None:
    files = sorted(SAVED.glob("*.json"))
    assert [f.name for f in files] == [
        "interrupted.json",
        "ok-memory-cap.json",
        "ok-two-workers-quality-cost.json",
    ]
    for file in files:
        raw = json.loads(file.read_text())
        result = read_result(file)
        loaded = result.to_dict()
        assert {k: loaded[k] for k in raw} == raw  # nothing repaired, nothing lost
        assert all(loaded[k] is None for k in set(loaded) - set(raw))  # sections added since
        sections = Sections.of(result)
        assert sections.notes == ()
        assert sections.latency is not None and sections.latency.p50 == raw["latency"]["p50"]
        assert sections.workers and sections.workers[0].device_name == "Intel(R) Xeon(R) Processor"
    both = Sections.of(read_result(SAVED / "ok-two-workers-quality-cost.json"))
    assert [w.index for w in both.workers] == [0, 1]
    assert both.cost is not None and both.cost.usd_per_hour == 1.0 and both.cost.verified is True
    assert both.quality is not None and both.quality.cosine_min == pytest.approx(0.99999994)
    assert both.throughput is not None and both.throughput.sequences == 12
    assert read_result(SAVED / "interrupted.json").status == "interrupted"


def test_the_saved_results_make_a_report(tmp_path: Path) -> None:
    report = build_report(load_folder(SAVED))
    assert len(report.rows) == 3 and not report.unreadable
    text = render_report(report, "md")
    assert "esm2_t6_8M" in text and "interrupted" in text


def test_a_section_keeps_keys_it_does_not_name_and_round_trips() -> None:
    data = {"unit": "s", "p50": 0.1, "per_sequence": {"p50": 0.05}, "backed": {"p50": True}}
    latency = Latency.from_dict(data)
    assert latency is not None and latency.p50 == 0.1
    assert latency.to_dict() == {**data, **{k: None for k in ("count", "mean", "stdev")}} | {
        k: None for k in ("min", "max", "p90", "p95", "p99")
    }


# Junk for every section, the worker list and the notes (each is a damaged file of its own too).
JUNK: dict[str, Any] = {
    "latency": {"p50": "fast", "p99": [1], "count": 2.5, "mean": float("inf")},
    "throughput": {"sequences_per_s": True, "tokens_per_s": {"x": 1}},
    "memory": ["not", "a", "table"],
    "energy": {"joules_per_sequence": "lots"},
    "cost": {"usd_per_hour": "cheap", "verified": "yes", "per_million_sequences": None},
    "efficiency": 42,
    "quality": {"cosine_min": "high", "warning": 7},
    "contention": {"contended": "very", "cpu_others_cores": "many", "why": 3},
    "workers": [3, None, "x", {"device_name": 5, "index": "first"}, {"device_name": "CPU"}],
    "notes": "not a list",
    "message": {"text": "x"},
}


def _damage(source: Path, target: Path, changes: dict[str, Any]) -> Path:
    data = json.loads(source.read_text())
    data.update(changes)
    target.write_text(json.dumps(data))
    return target


def test_junk_in_every_section_is_read_as_missing_with_a_note(tmp_path: Path) -> None:
    path = _damage(SAVED / "ok-memory-cap.json", tmp_path / "junk.json", JUNK)
    result = load_result(path)
    sections = Sections.of(result)
    assert sections.notes == ()  # repaired on loading
    assert sections.latency is not None and sections.latency.p50 is None
    assert sections.latency.count is None and sections.latency.mean is None
    assert sections.memory is None and sections.efficiency is None
    assert sections.throughput is not None and sections.throughput.sequences_per_s is None
    assert sections.cost is not None and sections.cost.verified is None
    assert [w.device_name for w in sections.workers] == [None, "CPU"]
    assert result.message is None
    notes = "\n".join(result.notes)
    for expected in (
        "latency.p50: 'fast' is not a number",
        "memory: ['not', 'a', 'table'] is not a table",
        "efficiency: 42 is not a table",
        "quality.warning: 7 is not text",
        "workers[0]: 3 is not a table",
        "workers[1]: empty; dropped",
        "workers[3].index: 'first' is not a whole number",
        "notes: 'not a list' is not a list of text",
        "message: {'text': 'x'} is not text",
    ):
        assert f"on loading: {expected}" in notes


@pytest.mark.parametrize("name", [*SECTIONS, "workers"])
def test_report_on_a_folder_with_one_damaged_section_never_tracebacks(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "runs"
    shutil.copytree(SAVED, folder)
    _damage(folder / "ok-memory-cap.json", folder / "ok-memory-cap.json", {name: JUNK[name]})
    _damage(folder / "interrupted.json", folder / "junk-spec.json", {"spec": {"buckets": 5}})
    for fmt in ("md", "csv", "json"):
        code = invoke(["report", str(folder), "--export", fmt])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert "Traceback" not in captured.err + captured.out


def test_report_on_a_worker_list_holding_a_non_object(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    folder.mkdir()
    _damage(SAVED / "ok-memory-cap.json", folder / "a.json", {"workers": [1, "two"]})
    report = build_report(load_folder(folder))
    assert report.rows[0].device_name is None and report.rows[0].sequences_per_s is not None


def test_junk_in_the_spec_and_environment_does_not_stop_a_report(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    folder.mkdir()
    spec = {"model": 5, "workers": "two", "buckets": 7, "devices": [1, 2], "batch_size": "8"}
    env = {"gpus": 3, "memory_bytes": "big", "cpu_count": None}
    _damage(SAVED / "ok-memory-cap.json", folder / "a.json", {"spec": spec, "environment": env})
    report = build_report(load_folder(folder))
    for fmt in ("md", "csv", "json"):
        assert render_report(report, fmt)
    assert report.rows[0].device == "1,2" and report.rows[0].batch_size is None


def test_a_worker_section_reads_its_figures() -> None:
    worker = Worker.from_dict({"index": 1, "device": "cpu", "iterations": 3.0, "pid": 7})
    assert worker is not None and (worker.index, worker.iterations) == (1, 3)
    assert worker.extra == {"pid": 7}


@pytest.mark.parametrize(
    ("value", "as_number", "as_integer"),
    [
        (1, 1.0, 1),
        (2.5, 2.5, None),
        (True, None, None),
        ("3", None, None),
        (float("nan"), None, None),
    ],
)
def test_the_coercion_helpers(value: Any, as_number: Any, as_integer: Any) -> None:
    assert number(value) == as_number and integer(value) == as_integer
    assert number("3", text=True) == 3.0 and integer("4", text=True) == 4


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (
            "sweep.json",
            {"kind": "plmprof-sweep", "points": [7, {"status": "skipped", "settings": 3}]},
        ),
        ("sweep.json", {"kind": "plmprof-sweep", "points": "many"}),
        ("max-batch.json", {"kind": "plmprof-max-batch", "searches": 5}),
        ("max-batch.json", {"kind": "plmprof-max-batch", "searches": [None, {"model": ["x"]}]}),
        ("sweep.json", ["not", "a", "sweep"]),
    ],
)
def test_report_on_damaged_sweep_files_never_tracebacks(
    tmp_path: Path, name: str, content: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "runs"
    shutil.copytree(SAVED, folder)
    (folder / name).write_text(json.dumps(content))
    for fmt in ("md", "csv", "json"):
        code = invoke(["report", str(folder), "--export", fmt])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert "Traceback" not in captured.err + captured.out
