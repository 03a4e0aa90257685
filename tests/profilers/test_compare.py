"""Comparing two Results and the CI regression gate."""

from __future__ import annotations

import pytest

from engines.errors import InvalidInputError
from engines.spec import RunSpec
from profilers.compare import BY_KEY, compare, gate, slower_pct
from profilers.options import MeasureOptions
from profilers.result import Result


def result(
    run_id: str,
    seq_s: float | None = 100.0,
    p50: float = 0.010,
    p99: float = 0.020,
    status: str = "ok",
    batch: int = 8,
    torch: str = "2.13.0",
) -> Result:
    ok = status == "ok"
    return Result(
        run_id=run_id,
        created_at="2026-01-01T00:00:00+00:00",
        status=status,
        spec=RunSpec(batch_size=batch, seq_len=64).to_dict(),
        options=MeasureOptions().to_dict(),
        environment={"cpu": "AMD EPYC", "torch": torch},
        message=None if ok else "CUDA out of memory",
        latency={"p50": p50, "p90": p50, "p99": p99, "mean": p50} if ok else None,
        throughput={"sequences_per_s": seq_s} if ok and seq_s is not None else None,
        memory={"max_ram": 500.0, "max_allocated": None},
    )


def test_lines_hold_both_figures_and_their_ratio() -> None:
    comparison = compare(result("a"), result("b", seq_s=110.0, p50=0.012, batch=16, torch="2.14"))
    lines = {line.metric.key: line for line in comparison.lines}
    throughput = lines["throughput"]
    assert (throughput.a, throughput.b) == (100.0, 110.0)
    assert throughput.ratio == pytest.approx(1.1)
    assert throughput.change_pct == pytest.approx(10.0)
    assert throughput.better is True
    p50 = lines["p50"]
    assert (p50.a, p50.b) == pytest.approx((10.0, 12.0))
    assert p50.better is False  # higher latency is worse
    assert lines["ram"].better is None and lines["ram"].ratio == 1.0
    assert "allocated" not in lines  # measured in neither
    assert comparison.spec_differences == [("batch_size", 8, 16)]
    assert comparison.environment_differences == [("torch", "2.13.0", "2.14")]


def test_slower_means_less_throughput_or_more_latency() -> None:
    assert slower_pct(BY_KEY["throughput"], 100.0, 90.0) == pytest.approx(10.0)
    assert slower_pct(BY_KEY["throughput"], 100.0, 120.0) == pytest.approx(-20.0)
    assert slower_pct(BY_KEY["p50"], 10.0, 11.0) == pytest.approx(10.0)
    assert slower_pct(BY_KEY["p99"], 10.0, 9.0) == pytest.approx(-10.0)


@pytest.mark.parametrize(
    ("metric", "b", "threshold", "regressed"),
    [
        ("throughput", result("b", seq_s=94.0), 5.0, True),
        ("throughput", result("b", seq_s=96.0), 5.0, False),
        ("throughput", result("b", seq_s=95.0), 5.0, False),  # exactly at the threshold
        ("throughput", result("b", seq_s=50.0), None, False),  # no threshold, no gate
        ("p50", result("b", p50=0.0106), 5.0, True),
        ("p50", result("b", p50=0.0050), 5.0, False),
        ("p99", result("b", p99=0.030), 40.0, True),
        ("throughput", result("b", status="oom"), 5.0, True),
        ("throughput", result("b", status="oom"), None, False),
    ],
)
def test_the_gate(metric: str, b: Result, threshold: float | None, regressed: bool) -> None:
    verdict = gate(result("a"), b, metric, threshold)
    assert verdict.regressed is regressed


def test_the_verdict_says_what_happened() -> None:
    slow = gate(result("a"), result("b", seq_s=80.0), "throughput", 5.0)
    assert slow.slower_pct == pytest.approx(20.0)
    assert slow.message == "B is 20.0% slower than A on throughput (more than the 5% allowed)"
    fast = gate(result("a"), result("b", seq_s=120.0), "throughput", 5.0)
    assert fast.message == "B is 20.0% faster than A on throughput (within the 5% allowed)"
    failed = gate(result("a"), result("b", status="oom"), "throughput", 5.0)
    assert failed.message == "B (run b) has no throughput: status 'oom' (CUDA out of memory)"


def test_a_reference_that_did_not_measure_is_an_error() -> None:
    with pytest.raises(InvalidInputError, match="A \\(run a\\) cannot be the reference"):
        gate(result("a", status="oom"), result("b"), "throughput", 5.0)
    with pytest.raises(InvalidInputError, match="--metric 'tokens'"):
        gate(result("a"), result("b"), "tokens", 5.0)
    with pytest.raises(InvalidInputError, match="0% or more"):
        gate(result("a"), result("b"), "p50", -1.0)


def _with_samples(run: Result, count: int, backed: dict[str, bool]) -> Result:
    assert run.latency is not None
    run.latency.update(count=count, backed=backed)
    return run


def test_gate_on_a_percentile_too_few_samples_back_says_so_and_fails_only_if_asked() -> None:
    few = {"p50": True, "p90": False, "p95": False, "p99": False, "p99_9": False}
    a = _with_samples(result("a", p99=0.020), 40, few)
    b = _with_samples(result("b", p99=0.030), 40, few)  # 50% slower on p99, from 40 samples
    verdict = gate(a, b, "p99", 5.0)
    assert verdict.unbacked == ("A", "B")
    assert not verdict.regressed
    assert "p99 rests on too few samples in A (40 samples) and B (40 samples)" in verdict.message
    assert "needs 662" in verdict.message and "--strict-samples" in verdict.message
    strict = gate(a, b, "p99", 5.0, strict_samples=True)
    assert strict.regressed and "failing, as --strict-samples asks" in strict.message
    # p50 is backed by 40 samples (needs 11): gated as usual
    assert gate(a, _with_samples(result("c", p50=0.020), 40, few), "p50", 5.0).regressed
    # throughput has no sample rule
    assert gate(a, b, "throughput", 5.0).unbacked == ()


def test_gate_with_enough_samples_is_unchanged() -> None:
    enough = {"p50": True, "p90": True, "p95": True, "p99": True, "p99_9": False}
    a = _with_samples(result("a", p99=0.020), 700, enough)
    b = _with_samples(result("b", p99=0.030), 700, enough)
    verdict = gate(a, b, "p99", 5.0)
    assert verdict.regressed and verdict.unbacked == ()
