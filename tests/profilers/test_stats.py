import math
import random
import statistics

import pytest

from profilers.stats import (
    PERCENTILE_KEYS,
    PERCENTILES,
    RollingPercentiles,
    Summary,
    min_samples,
    nearest_rank,
    percentile_key,
    percentile_nearest_rank,
    summarize,
)

ONE_TO_100 = [float(i) for i in range(1, 101)]


def test_percentiles_constant() -> None:
    assert PERCENTILES == (50.0, 90.0, 95.0, 99.0, 99.9)
    assert PERCENTILE_KEYS == ("p50", "p90", "p95", "p99", "p99_9")
    assert percentile_key(99.9) == "p99_9"


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0.0, 1.0),
        (1.0, 1.0),
        (50.0, 50.0),
        (90.0, 90.0),
        (99.0, 99.0),
        (99.9, 100.0),
        (100.0, 100.0),
    ],
)
def test_nearest_rank_on_1_to_100(p: float, expected: float) -> None:
    assert percentile_nearest_rank(ONE_TO_100, p) == expected


def test_nearest_rank_rounds_up_not_interpolates() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    # rank ceil(0.5 * 4) = 2 -> 20 (numpy's default would interpolate to 25)
    assert percentile_nearest_rank(values, 50.0) == 20.0
    # rank ceil(0.51 * 4) = 3
    assert percentile_nearest_rank(values, 51.0) == 30.0
    assert percentile_nearest_rank([7.0], 99.9) == 7.0


def test_nearest_rank_uses_the_decimal_percentile() -> None:
    # 99.9 / 100 * 1000 is 999.0000000000001 in floats; the rank must still be 999
    assert nearest_rank(1000, 99.9) == 999
    assert nearest_rank(100, 57.0) == 57
    values = [float(i) for i in range(1, 1001)]
    assert percentile_nearest_rank(values, 99.9) == 999.0


def test_nearest_rank_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        percentile_nearest_rank([], 50.0)
    with pytest.raises(ValueError):
        percentile_nearest_rank([1.0], 100.5)
    with pytest.raises(ValueError):
        percentile_nearest_rank([1.0], -1.0)
    with pytest.raises(ValueError):
        percentile_nearest_rank([1.0], math.nan)


def test_min_samples_matches_loadgen_figures() -> None:
    assert min_samples(90.0) == 64
    assert min_samples(99.0) == 662
    assert min_samples(50.0) == 11
    assert min_samples(95.0) == 130
    assert min_samples(99.9) == 6636


def _p_two_above(p: float, n: int) -> float:
    q = 1 - p / 100
    return 1 - (1 - q) ** n - n * q * (1 - q) ** (n - 1)


@pytest.mark.parametrize("p", [50.0, 90.0, 95.0, 99.0])
def test_min_samples_is_the_smallest_n(p: float) -> None:
    n = min_samples(p)
    assert _p_two_above(p, n) >= 0.99
    assert _p_two_above(p, n - 1) < 0.99


def test_min_samples_confidence_and_range() -> None:
    assert min_samples(90.0, confidence=0.95) < 64
    with pytest.raises(ValueError):
        min_samples(100.0)
    with pytest.raises(ValueError):
        min_samples(90.0, confidence=1.0)


def test_summarize_1_to_100() -> None:
    s = summarize(ONE_TO_100, unit="ms")
    assert isinstance(s, Summary)
    assert s.unit == "ms"
    assert s.count == 100
    assert s.mean == 50.5
    assert s.stdev == pytest.approx(statistics.stdev(ONE_TO_100), rel=1e-12)
    assert s.cv == pytest.approx(s.stdev / 50.5, rel=1e-12)
    assert (s.min, s.max) == (1.0, 100.0)
    assert (s.p50, s.p90, s.p95, s.p99, s.p99_9) == (50.0, 90.0, 95.0, 99.0, 100.0)
    assert s.method == "nearest-rank"
    # 100 samples back p50 (11) and p90 (64), not p95 (130), p99 (662) or p99.9
    assert s.backed == {"p50": True, "p90": True, "p95": False, "p99": False, "p99_9": False}


def test_summarize_order_does_not_matter_and_backing_thresholds() -> None:
    rng = random.Random(7)
    values = [rng.random() for _ in range(662)]
    shuffled = values[:]
    rng.shuffle(shuffled)
    a, b = summarize(values), summarize(shuffled)
    assert a == b
    assert a is not None and a.backed["p99"] is True
    short = summarize(values[:661])
    assert short is not None and short.backed["p99"] is False
    assert summarize(values[:63]).backed["p90"] is False  # type: ignore[union-attr]
    assert summarize(values[:64]).backed["p90"] is True  # type: ignore[union-attr]


def test_summarize_edge_cases() -> None:
    assert summarize([]) is None
    one = summarize([0.25])
    assert one is not None
    assert (one.count, one.stdev, one.cv, one.p50, one.p99_9) == (1, 0.0, 0.0, 0.25, 0.25)
    zeros = summarize([0.0, 0.0])
    assert zeros is not None and zeros.cv == 0.0
    with pytest.raises(ValueError):
        summarize([1.0, math.nan])
    with pytest.raises(ValueError):
        summarize([1.0, math.inf])


def test_summary_to_dict() -> None:
    s = summarize([1.0, 2.0, 3.0])
    assert s is not None
    d = s.to_dict()
    assert d["count"] == 3
    assert d["p50"] == 2.0
    assert d["stdev"] == 1.0
    assert d["method"] == "nearest-rank"
    assert d["backed"] == s.backed
    assert set(d) >= {"unit", "mean", "cv", "min", "max", "p90", "p95", "p99", "p99_9"}


def test_rolling_window_and_cumulative() -> None:
    r = RollingPercentiles(unit="s")
    assert r.cumulative() is None
    assert r.window(10.0, 5.0) is None
    for i in range(1, 11):  # t = 1..10, value = t
        r.add(float(i), float(i))
    w = r.window(now=10.0, seconds=3.0)  # 7 < t <= 10
    assert w is not None
    assert w.count == 3
    assert (w.min, w.max, w.p50) == (8.0, 10.0, 9.0)
    c = r.cumulative()
    assert c is not None
    assert (c.count, c.p50, c.max) == (10, 5.0, 10.0)
    assert r.window(now=100.0, seconds=1.0) is None
    with pytest.raises(ValueError):
        r.window(10.0, 0.0)


def test_rolling_window_selects_by_timestamp_not_arrival() -> None:
    r = RollingPercentiles()
    r.add(5.0, 50.0)
    r.add(1.0, 10.0)  # a slower worker reports late
    r.add(4.0, 40.0)
    w = r.window(now=5.0, seconds=2.0)
    assert w is not None
    assert w.count == 2 and w.min == 40.0


def test_rolling_memory_is_bounded() -> None:
    r = RollingPercentiles(max_samples=5)
    for i in range(8):
        r.add(float(i), float(i))
    assert len(r) == 5
    assert r.total_count == 8
    assert r.dropped == 3
    c = r.cumulative()
    assert c is not None
    assert (c.count, c.min, c.max) == (5, 3.0, 7.0)
    assert c.method == "nearest-rank over the last 5 of 8 samples"
    with pytest.raises(ValueError):
        RollingPercentiles(max_samples=0)


def test_rolling_whole_run_summary_stays_exact_as_samples_come_and_go() -> None:
    rng = random.Random(7)
    rolling = RollingPercentiles(max_samples=500)
    values: list[float] = []
    for i in range(2_000):
        value = rng.lognormvariate(-3, 0.5)
        values.append(value)
        rolling.add(i * 0.01, value)
        if i % 37 == 0:
            got, want = rolling.cumulative(), summarize(values[-500:])
            assert got is not None and want is not None
            assert (got.count, got.min, got.max) == (want.count, want.min, want.max)
            assert (got.p50, got.p90, got.p99, got.p99_9) == (
                want.p50,
                want.p90,
                want.p99,
                want.p99_9,
            )
            assert got.mean == pytest.approx(want.mean, rel=1e-12)
            assert got.stdev == pytest.approx(want.stdev, rel=1e-9)


def test_rolling_histogram_counts_the_kept_samples_exactly() -> None:
    rng = random.Random(11)
    rolling = RollingPercentiles(max_samples=300)
    assert rolling.histogram(10) is None
    values = []
    for i in range(1_000):
        value = rng.uniform(0.01, 0.05)
        values.append(value)
        rolling.add(i * 0.01, value)
    got = rolling.histogram(10)
    assert got is not None and sum(got.counts) == 300
    kept = sorted(values[-300:])
    assert (got.low, got.high) == (kept[0], kept[-1])
    width = (kept[-1] - kept[0]) / 10
    for index, count in enumerate(got.counts):
        low = kept[0] + index * width
        inside = [v for v in kept if v >= low and (v < low + width or index == 9)]
        assert count == len(inside)


def test_nearest_rank_is_numpy_inverted_cdf_and_differs_from_loadgen_when_p_n_is_whole() -> None:
    import numpy as np

    rng = np.random.default_rng(3)
    for n in (1, 7, 10, 100, 1000):
        values = sorted(float(v) for v in rng.random(n))
        # (not 99.9: numpy's float 0.999 * 1000 lands above 999 and takes rank 1000)
        for p in (0.0, 50.0, 90.0, 99.0):
            expected = float(np.percentile(values, p, method="inverted_cdf"))
            assert percentile_nearest_rank(values, p) == expected
    # p50 of 10 samples: rank ceil(5) = 5th value here; LoadGen/TGI take index floor(5) = 6th
    ten = [float(v) for v in range(1, 11)]
    assert percentile_nearest_rank(ten, 50.0) == 5.0
    assert ten[int(0.5 * len(ten))] == 6.0
    # not whole (p90 of 15 = 13.5): both give the 14th
    fifteen = [float(v) for v in range(1, 16)]
    assert percentile_nearest_rank(fifteen, 90.0) == fifteen[int(0.9 * 15)] == 14.0
