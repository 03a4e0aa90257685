import pytest

from profilers.throughput import (
    BatchTiming,
    Throughput,
    known_until,
    recent_rate,
    throughput,
    windowed_throughput,
)


def _steady(
    worker: int, start: float, count: int, period: float, seqs: int = 8, residues: int = 800
) -> list[BatchTiming]:
    """Back-to-back batches of ``period`` seconds from ``start``."""
    return [
        BatchTiming(
            worker=worker,
            start=start + i * period,
            end=start + (i + 1) * period,
            sequences=seqs,
            residues=residues,
            tokens=seqs * 128,
        )
        for i in range(count)
    ]


def test_empty_and_zero_window() -> None:
    assert throughput([]) is None
    instant = BatchTiming(0, 1.0, 1.0, 4, 40, 64)
    assert throughput([instant]) is None


def test_single_worker_headline() -> None:
    timings = _steady(0, start=10.0, count=4, period=0.5)  # 10.0 .. 12.0
    t = throughput(timings)
    assert isinstance(t, Throughput)
    assert t.window_s == 2.0
    assert (t.sequences, t.residues, t.tokens, t.batches, t.workers) == (32, 3200, 4096, 4, 1)
    assert t.sequences_per_s == 16.0
    assert t.residues_per_s == 1600.0
    assert t.tokens_per_s == 2048.0


def test_two_overlapping_workers_sum_over_the_shared_window() -> None:
    # Worker 0: batches of 1.0 s from t=0 to t=4. Worker 1: batches of 2.0 s from t=0.5 to t=4.5.
    w0 = _steady(0, start=0.0, count=4, period=1.0, seqs=8, residues=800)
    w1 = _steady(1, start=0.5, count=2, period=2.0, seqs=8, residues=800)
    t = throughput(w0 + w1)
    assert t is not None
    assert t.window_s == 4.5  # first start 0.0 to last end 4.5
    assert t.workers == 2
    assert t.sequences == 48
    assert t.sequences_per_s == pytest.approx(48 / 4.5)
    # Not what mean latency would give: 8 seqs / mean(1,1,1,1,2,2) s = 6/s, nor the per-worker
    # mean-latency sum 8/1 + 8/2 = 12/s.
    assert t.sequences_per_s != pytest.approx(6.0)
    assert t.sequences_per_s != pytest.approx(12.0)


def test_order_of_timings_does_not_matter() -> None:
    timings = _steady(0, 0.0, 6, 0.7) + _steady(1, 0.3, 4, 1.1)
    assert throughput(timings) == throughput(list(reversed(timings)))


def test_windowed_avg_and_peak_drop_first_and_last_window() -> None:
    # 0.25 s batches from t=0 to t=6.0: ends at 0.25, 0.5, ..., 6.0. Window k = [k, k+1).
    timings = _steady(0, start=0.0, count=24, period=0.25, seqs=2, residues=100)
    # Make window 3 (ends in [3, 4)) busier: the batch ending at 3.25 carries 10 sequences.
    timings[12] = BatchTiming(0, 3.0, 3.25, 10, 500, 1280)
    t = throughput(timings)
    assert t is not None
    w = t.windowed
    assert w is not None
    # windows 0..6 (the end at 6.0 opens window 6); 0 and 6 dropped -> 1..5 used
    assert w.count == 5
    assert w.windows_with_batches == 5
    assert w.window_s == 1.0
    # window 1: ends 1.0,1.25,1.5,1.75 -> 8 seqs; windows 2,4,5: 8 seqs; window 3: 6 + 10 = 16
    assert w.sequences_per_s_avg == pytest.approx((8 + 8 + 16 + 8 + 8) / 5)
    assert w.sequences_per_s_peak == 16.0
    assert w.residues_per_s_peak == 400.0 + 400.0
    assert w.tokens_per_s_avg == pytest.approx((4 * 256 * 4 + 3 * 256 + 1280) / 5)
    assert w.dropped_windows == 2


def test_windowed_none_with_too_few_windows() -> None:
    # 1.2 s batches (the ESM2-35M case) over 3.6 s: windows 0..3, kept 1..2: fewer than three
    timings = _steady(0, start=0.0, count=3, period=1.2)
    t = throughput(timings)
    assert t is not None
    assert t.sequences_per_s == pytest.approx(24 / 3.6)
    assert t.windowed is None


def test_windowed_attributes_batches_longer_than_a_window_by_overlap() -> None:
    # 2.0 s batches of 8 sequences from 0 to 10: windows 0..10 (the end at 10.0 opens window 10),
    # kept 1..9; every kept window lies inside one batch and gets half of it: 4 sequences.
    timings = _steady(0, start=0.0, count=5, period=2.0)
    w = windowed_throughput(timings)
    assert w is not None
    assert w.count == 9
    assert w.windows_with_batches == 9
    assert w.sequences_per_s_avg == pytest.approx(4.0)
    assert w.sequences_per_s_peak == pytest.approx(4.0)  # attribution by end said 8.0


def test_windowed_peak_of_long_batches_matches_sustained_rate() -> None:
    # The reported case: batches of 8 sequences lasting 9.4 s, 1 s windows. Attributing each batch
    # to the window its end falls in gave a peak of 8.0 seq/s against 0.85 sustained.
    timings = _steady(0, start=0.0, count=4, period=9.4)
    t = throughput(timings)
    assert t is not None and t.windowed is not None
    assert t.sequences_per_s == pytest.approx(8 / 9.4)
    assert t.windowed.sequences_per_s_peak == pytest.approx(8 / 9.4)
    assert t.windowed.sequences_per_s_avg == pytest.approx(8 / 9.4)


def test_windowed_keeps_empty_windows_and_needs_three_with_work() -> None:
    # Two 1 s batches of 8 at [1, 2] and [5, 6], plus one at [8.5, 9]: windows 0..9, kept 1..8.
    # Windows 1, 5 get 8 sequences each, window 8 gets the last batch's 8: three with work;
    # windows 2, 3, 4, 6, 7 are empty and count in the average.
    timings = [
        BatchTiming(0, 0.0, 0.5, 0, 0, 0),
        BatchTiming(0, 1.0, 2.0, 8, 800, 1024),
        BatchTiming(0, 5.0, 6.0, 8, 800, 1024),
        BatchTiming(0, 8.5, 9.0, 8, 800, 1024),
    ]
    w = windowed_throughput(timings)
    assert w is not None
    assert (w.count, w.windows_with_batches) == (8, 3)
    assert w.sequences_per_s_avg == pytest.approx(24 / 8)
    assert w.sequences_per_s_peak == pytest.approx(8.0)
    # 0.5 s batches at [0, 0.5] and [1, 1.5] only: windows 0..1, none kept -> None
    assert windowed_throughput(timings[:2]) is None


def test_recent_rate_by_overlap_never_empty() -> None:
    # 2 s batches of 8 sequences: over the last second before t=4 the second batch ran half of
    # its span: 4 sequences in 1 s. Counting batches finished in the last second gives 8/s just
    # after a batch ends and nothing (a dropped point) a second later; the rate is 4/s throughout.
    timings = _steady(0, start=0.0, count=2, period=2.0)
    assert recent_rate(timings, until=4.0, window_s=1.0) == pytest.approx(4.0)
    assert recent_rate(timings, until=4.0, window_s=5.0) == pytest.approx(16 / 4)  # run is 4 s old
    assert recent_rate(timings, until=3.0, window_s=2.0) == pytest.approx((4 + 4) / 2)
    with pytest.raises(ValueError):
        recent_rate(timings, until=4.0, window_s=0.0)


def test_known_until_waits_for_running_workers() -> None:
    timings = _steady(0, 0.0, 4, 1.0) + _steady(1, 0.0, 2, 1.75)  # last ends 4.0 and 3.5
    assert known_until(timings, running={0, 1}) == 3.5
    assert known_until(timings, running={0}) == 4.0  # worker 1 has finished
    assert known_until(timings, running=set()) == 4.0
    assert known_until([], running={0}) is None


def test_windowed_other_window_width() -> None:
    timings = _steady(0, start=0.0, count=20, period=0.1)  # 2 s of 0.1 s batches
    assert windowed_throughput(timings, window_s=1.0) is None
    w = windowed_throughput(timings, window_s=0.25)
    assert w is not None
    assert w.window_s == 0.25
    with pytest.raises(ValueError):
        windowed_throughput(timings, window_s=0.0)


def test_to_dict() -> None:
    t = throughput(_steady(0, 0.0, 24, 0.25))
    assert t is not None
    d = t.to_dict()
    assert d["sequences_per_s"] == t.sequences_per_s
    assert isinstance(d["windowed"], dict)
    assert d["windowed"]["count"] == 5
    short = throughput(_steady(0, 0.0, 2, 0.5))
    assert short is not None and short.to_dict()["windowed"] is None


def test_batch_timing_validation() -> None:
    with pytest.raises(ValueError):
        BatchTiming(0, 2.0, 1.0, 1, 1, 1)
    with pytest.raises(ValueError):
        BatchTiming(0, 0.0, 1.0, -1, 1, 1)
