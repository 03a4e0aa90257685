"""The whole measurement pipeline (spawned worker, pipe, collector, statistics, Result) checked
against a fake engine that sleeps a known time per batch."""

from __future__ import annotations

import threading
import time

import pytest
from fake_engine import SLEEP_S, compiling_worker, dying_worker, sleeping_worker

from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.session import Session

OPTIONS = MeasureOptions(telemetry_interval_s=0.1, snapshot_interval_s=0.05)


def _spec(**changes: object) -> RunSpec:
    base = RunSpec(seq_len=128, batch_size=4, warmup=1, duration_s=1.0, min_iters=40)
    return base.replace(**changes)


@pytest.fixture(scope="module")
def fixed_run() -> tuple[object, list[object]]:
    snapshots: list[object] = []
    spec = _spec(max_iters=70, duration_s=0.01, min_iters=70)
    result = Session(
        spec, OPTIONS, on_snapshot=snapshots.append, worker_target=sleeping_worker
    ).run()
    return result, snapshots


def test_counts_are_exact(fixed_run) -> None:
    result, _ = fixed_run
    assert result.status == "ok"
    assert result.latency["count"] == 70
    assert result.throughput["batches"] == 70
    assert result.throughput["sequences"] == 70 * 4
    assert result.throughput["residues"] == 70 * 4 * 128
    assert result.throughput["tokens"] == 70 * 4 * 130
    assert result.workers[0]["iterations"] == 70


def test_percentiles_match_the_sleep(fixed_run) -> None:
    result, _ = fixed_run
    latency = result.latency
    # time.sleep never returns early; scheduling adds a little on a loaded 2-core VM.
    assert SLEEP_S <= latency["min"] <= latency["p50"] < SLEEP_S * 1.25
    assert latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    assert latency["backed"] == {
        "p50": True,
        "p90": True,
        "p95": False,
        "p99": False,
        "p99_9": False,
    }
    assert latency["per_sequence"]["p50"] == pytest.approx(latency["p50"] / 4)


def test_throughput_is_work_over_the_window(fixed_run) -> None:
    result, _ = fixed_run
    rate = result.throughput
    assert rate["sequences_per_s"] == pytest.approx(rate["sequences"] / rate["window_s"])
    # 4 sequences per sleep of at least 20 ms: never above 200 seq/s.
    assert rate["sequences_per_s"] <= 4 / SLEEP_S
    # The window is the 70 batches back to back: no start-up or warm-up inside it. Measured
    # against the batches' own times, so a loaded machine's longer sleeps do not fail it.
    batches_s = result.latency["count"] * result.latency["mean"]
    assert batches_s <= rate["window_s"] < batches_s * 1.15 + 0.05


def test_flops_follow_the_formula(fixed_run) -> None:
    result, _ = fixed_run
    efficiency = result.efficiency
    assert efficiency["flops_per_sequence_mean"] == 2_046_720_000  # measurement.md's check
    assert efficiency["useful_flops"] == 70 * 4 * 2_046_720_000
    assert efficiency["useful_mfu"] is None  # no peak is known for a fake device


def test_snapshots_are_live(fixed_run) -> None:
    _, snapshots = fixed_run
    measuring = [s for s in snapshots if s.batches > 0]
    assert len(measuring) >= 5
    assert [s.batches for s in measuring] == sorted(s.batches for s in measuring)
    assert measuring[-1].batches == 70
    assert measuring[-1].latency_total.count == 70
    assert sum(measuring[-1].latency_histogram.counts) == 70
    assert snapshots[-1].progress == 1.0


def test_two_workers_sum_over_the_shared_window() -> None:
    spec = _spec(workers=2, max_iters=30, duration_s=0.01, min_iters=30)
    result = Session(spec, OPTIONS, worker_target=sleeping_worker).run()
    assert result.status == "ok"
    assert result.latency["count"] == 60
    assert [w["iterations"] for w in result.workers] == [30, 30]
    rate = result.throughput
    assert rate["workers"] == 2
    # Two workers sleeping side by side do twice the work of one in about the same window.
    assert rate["sequences_per_s"] > 1.5 * 4 / (SLEEP_S * 1.3)


def test_stop_keeps_what_was_measured() -> None:
    spec = _spec(duration_s=60.0)
    session: Session

    def stop_after_ten_batches(snapshot) -> None:
        if snapshot.batches >= 10:
            threading.Thread(target=session.stop).start()  # as the TUI's stop key does

    session = Session(
        spec, OPTIONS, on_snapshot=stop_after_ten_batches, worker_target=sleeping_worker
    )
    began = time.monotonic()
    result = session.run()
    assert time.monotonic() - began < 50
    assert result.status == "interrupted"
    assert result.latency["count"] >= 10
    assert result.throughput["sequences"] == result.latency["count"] * 4


def test_a_killed_worker_ends_crashed_and_still_gives_a_result() -> None:
    result = Session(_spec(), OPTIONS, worker_target=dying_worker).run()
    assert result.status == "crashed"
    assert "SIGKILL" in result.message
    assert result.workers[0]["status"] == "crashed"
    assert result.latency is None
    assert result.workload["sequences"] == 16


def test_stop_during_compilation_ends_the_worker_within_seconds() -> None:
    session: Session
    asked: list[float] = []

    def stop_once_compiling(snapshot) -> None:  # type: ignore[no-untyped-def]
        if snapshot.phase == "compiling" and not asked:
            asked.append(time.monotonic())
            threading.Thread(target=session.stop).start()

    session = Session(
        _spec(duration_s=60.0),
        OPTIONS,
        on_snapshot=stop_once_compiling,
        worker_target=compiling_worker,
    )
    result = session.run()
    assert asked, "the worker never reported compiling"
    assert time.monotonic() - asked[0] < 6  # not the minute the compilation would take
    assert result.status == "interrupted"
    assert "while compiling" in result.workers[0]["message"]
