"""Latency statistics: nearest-rank percentiles, sample sufficiency, summaries, a rolling window.

Percentile method (published with every summary as ``Summary.method``): **nearest rank**. For ``n``
sorted samples the p-th percentile is the sample at 1-based rank ``ceil(p / 100 * n)`` (numpy's
``method="inverted_cdf"``); p = 0 gives the minimum. MLPerf LoadGen and TGI take the sample at
0-based index ``floor(p / 100 * n)``: the same sample unless ``p / 100 * n`` is whole, when theirs
is the next one up (p50 of 10 samples: the 5th here, the 6th there). No interpolation: every
reported percentile is a value that was actually measured. ``p`` is taken as the decimal the caller
wrote (99.9 means exactly 99.9), so ``p99.9`` of 1000 samples is rank 999, not 1000 through a float
rounding error.

Sample sufficiency (``min_samples``): a percentile is "backed" when the sample count is at least the
smallest ``n`` for which, with probability >= 99%, at least two of the ``n`` samples lie above the
true p-th percentile (binomial). That gives 64 samples for p90 and 662 for p99, LoadGen's figures.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import pairwise

PERCENTILES: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0, 99.9)

METHOD = "nearest-rank"

# Default cap on the raw samples RollingPercentiles keeps: 200,000 (time, value) pairs take roughly
# 20 MB as a deque of tuples, and at one batch per 5 ms hold about 17 minutes of samples.
DEFAULT_MAX_SAMPLES = 200_000


def percentile_key(p: float) -> str:
    """The key a percentile is reported under: 50.0 -> "p50", 99.9 -> "p99_9"."""
    return "p" + f"{float(p):g}".replace(".", "_")


PERCENTILE_KEYS: tuple[str, ...] = tuple(percentile_key(p) for p in PERCENTILES)


def _check_p(p: float) -> Fraction:
    if not math.isfinite(p) or p < 0.0 or p > 100.0:
        raise ValueError(f"percentile must be within 0..100, got {p!r}")
    return Fraction(str(float(p)))


def nearest_rank(n: int, p: float) -> int:
    """1-based nearest rank of the p-th percentile among n samples: ``max(1, ceil(p/100 * n))``."""
    if n < 1:
        raise ValueError("nearest rank needs at least one sample")
    exact = _check_p(p) * n / 100
    return max(1, math.ceil(exact))


def percentile_nearest_rank(sorted_values: Sequence[float], p: float) -> float:
    """The p-th percentile of ascending ``sorted_values`` by the nearest-rank method.

    The value at 1-based rank ``ceil(p / 100 * n)`` (rank 1, the minimum, for p = 0); ``p`` in
    0..100. No interpolation. Raises ValueError for an empty sequence or p out of range. The input
    must already be sorted ascending; this is not checked (it would cost O(n) per call).
    """
    if len(sorted_values) == 0:
        raise ValueError("percentile of no values")
    return float(sorted_values[nearest_rank(len(sorted_values), p) - 1])


@lru_cache(maxsize=256)
def _min_samples(p: float, confidence: float) -> int:
    q = 1.0 - p / 100.0  # probability that one sample lies above the p-th percentile
    if q >= 1.0:
        return 2
    n = 2
    while True:
        # P(at most one of n samples above) = (1-q)^n + n q (1-q)^(n-1)
        at_most_one = (1.0 - q) ** n + n * q * (1.0 - q) ** (n - 1)
        if 1.0 - at_most_one >= confidence:
            return n
        n += 1


def min_samples(p: float, confidence: float = 0.99) -> int:
    """Smallest n such that, with probability >= ``confidence``, at least two of n samples lie
    above the p-th percentile (binomial with success probability 1 - p/100).

    64 for p90 and 662 for p99 at 99% confidence (LoadGen's figures); 11 for p50, 130 for p95,
    6636 for p99.9. ``p`` must be in [0, 100) and ``confidence`` in (0, 1).
    """
    if not math.isfinite(p) or p < 0.0 or p >= 100.0:
        raise ValueError(f"min_samples needs 0 <= p < 100, got {p!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be within (0, 1), got {confidence!r}")
    return _min_samples(float(p), float(confidence))


@dataclass(frozen=True)
class Summary:
    """Descriptive statistics of one set of samples (times in ``unit``)."""

    unit: str
    count: int
    mean: float
    stdev: float
    cv: float
    min: float
    max: float
    p50: float
    p90: float
    p95: float
    p99: float
    p99_9: float
    # "p50", "p90", "p95", "p99", "p99_9" -> count >= min_samples(p) at 99% confidence
    backed: dict[str, bool]
    method: str = METHOD

    def to_dict(self) -> dict[str, object]:
        return {
            "unit": self.unit,
            "count": self.count,
            "mean": self.mean,
            "stdev": self.stdev,
            "cv": self.cv,
            "min": self.min,
            "max": self.max,
            "p50": self.p50,
            "p90": self.p90,
            "p95": self.p95,
            "p99": self.p99,
            "p99_9": self.p99_9,
            "backed": dict(self.backed),
            "method": self.method,
        }


def _mean_stdev(ordered: Sequence[float]) -> tuple[float, float]:
    n = len(ordered)
    mean = math.fsum(ordered) / n
    if n == 1:
        return mean, 0.0
    return mean, math.sqrt(math.fsum((x - mean) ** 2 for x in ordered) / (n - 1))


@dataclass(frozen=True)
class Histogram:
    """Sample counts in ``len(counts)`` equal-width bins from ``low`` to ``high`` (the last bin
    holds ``high`` itself); all in the first bin when every sample has one value."""

    low: float
    high: float
    counts: tuple[int, ...]
    unit: str = "s"

    def to_dict(self) -> dict[str, object]:
        return {"low": self.low, "high": self.high, "counts": list(self.counts), "unit": self.unit}


def histogram_of_sorted(values: Sequence[float], bins: int, unit: str = "s") -> Histogram:
    """Counts of ascending ``values`` in ``bins`` equal-width bins over their range, by bisection:
    ``bins`` lookups, whatever the number of samples."""
    if not values or bins < 1:
        raise ValueError("a histogram needs at least one value and one bin")
    low, high = values[0], values[-1]
    if high <= low:
        return Histogram(low, high, (len(values),) + (0,) * (bins - 1), unit)
    width = (high - low) / bins
    starts = [0] + [bisect_left(values, low + i * width) for i in range(1, bins)] + [len(values)]
    counts = tuple(b - a for a, b in pairwise(starts))
    return Histogram(low, high, counts, unit)


def _summary_of_sorted(
    ordered: Sequence[float],
    unit: str,
    method: str,
    moments: tuple[float, float] | None = None,
) -> Summary:
    n = len(ordered)
    mean, stdev = moments if moments is not None else _mean_stdev(ordered)
    # cv is 0 for all-zero samples; NaN only for a zero mean of spread (negative) values
    cv = stdev / abs(mean) if mean != 0.0 else (0.0 if stdev == 0.0 else math.nan)
    pct = [percentile_nearest_rank(ordered, p) for p in PERCENTILES]
    backed = {key: n >= min_samples(p) for key, p in zip(PERCENTILE_KEYS, PERCENTILES, strict=True)}
    return Summary(
        unit=unit,
        count=n,
        mean=mean,
        stdev=stdev,
        cv=cv,
        min=float(ordered[0]),
        max=float(ordered[-1]),
        p50=pct[0],
        p90=pct[1],
        p95=pct[2],
        p99=pct[3],
        p99_9=pct[4],
        backed=backed,
        method=method,
    )


def summarize(values: Sequence[float], unit: str = "s") -> Summary | None:
    """Summary of ``values`` (any order), or None when there are none.

    ``stdev`` is the sample standard deviation (n - 1 denominator), 0 for a single value;
    ``cv`` = stdev / |mean| (0 when both are 0). Raises ValueError on NaN or infinite values.
    """
    if len(values) == 0:
        return None
    ordered = sorted(float(v) for v in values)
    if not all(math.isfinite(v) for v in ordered):
        raise ValueError("cannot summarize NaN or infinite values")
    return _summary_of_sorted(ordered, unit, METHOD)


_OLD_RUN = 32


class RollingPercentiles:
    """(timestamp, value) samples with summaries over a recent time window or the whole run.

    Memory is bounded: at most ``max_samples`` (default 200,000) raw samples are kept; past that,
    the oldest are dropped (counted in ``dropped``). A summary then covers only the kept samples,
    and its ``method`` says so ("nearest-rank over the last K of N samples"), so a percentile is
    never presented as resting on samples that are gone. Timestamps need not arrive in order
    (several workers may report); a window selects by timestamp, not by arrival.

    Live views ask for summaries several times a second over long runs, so the whole-run summary
    is kept up to date incrementally: a sorted copy of the values absorbs new ones with one
    merge (timsort finds the two sorted runs), dropped ones are removed by bisection, and the
    mean and variance come from running sums (shifted by the first value, against cancellation).
    """

    def __init__(self, unit: str = "s", max_samples: int = DEFAULT_MAX_SAMPLES) -> None:
        if max_samples < 1:
            raise ValueError("max_samples must be at least 1")
        self.unit = unit
        self.max_samples = max_samples
        self._samples: deque[tuple[float, float]] = deque(maxlen=max_samples)
        self._total = 0
        self._sorted: list[float] = []
        self._added: list[float] = []
        self._evicted: list[float] = []
        self._shift: float | None = None
        self._sum = 0.0
        self._sum_sq = 0.0

    def add(self, t: float, value: float) -> None:
        """Record ``value`` observed at time ``t`` (seconds, any monotonic clock)."""
        if not math.isfinite(value) or not math.isfinite(t):
            raise ValueError("timestamp and value must be finite")
        value = float(value)
        if len(self._samples) == self.max_samples:
            old = self._samples[0][1]
            self._evicted.append(old)
            self._accumulate(old, -1.0)
        self._samples.append((float(t), value))
        self._added.append(value)
        self._accumulate(value, 1.0)
        self._total += 1

    def _accumulate(self, value: float, sign: float) -> None:
        if self._shift is None:
            self._shift = value
        deviation = value - self._shift
        self._sum += sign * deviation
        self._sum_sq += sign * deviation * deviation

    def __len__(self) -> int:
        return len(self._samples)

    @property
    def total_count(self) -> int:
        """Samples ever added, including dropped ones."""
        return self._total

    @property
    def dropped(self) -> int:
        """Samples dropped to keep memory bounded."""
        return self._total - len(self._samples)

    def _method(self) -> str:
        if self.dropped == 0:
            return METHOD
        return f"{METHOD} over the last {len(self._samples)} of {self._total} samples"

    def window(self, now: float, seconds: float) -> Summary | None:
        """Summary of the samples with ``now - seconds < t <= now``; None when there are none.

        Scans from the newest sample back, and stops once ``_OLD_RUN`` samples in a row are older
        than a second window (``now - 2 * seconds``): a late report from a slow worker does not end
        the scan, and a long run's history is not read on every call."""
        if not seconds > 0.0:
            raise ValueError(f"window must be positive, got {seconds!r}")
        start, stop = now - seconds, now - 2 * seconds
        values = []
        old_in_a_row = 0
        for t, v in reversed(self._samples):
            old_in_a_row = old_in_a_row + 1 if t <= stop else 0
            if old_in_a_row >= _OLD_RUN:
                break
            if start < t <= now:
                values.append(v)
        if not values:
            return None
        return _summary_of_sorted(sorted(values), self.unit, self._method())

    def _sync_sorted(self) -> None:
        if self._added:
            self._sorted.extend(self._added)
            self._sorted.sort()
            self._added.clear()
        for value in self._evicted:
            del self._sorted[bisect_left(self._sorted, value)]
        self._evicted.clear()

    def histogram(self, bins: int) -> Histogram | None:
        """Every kept sample counted in ``bins`` equal-width bins; None when there are none."""
        if not self._samples:
            return None
        self._sync_sorted()
        return histogram_of_sorted(self._sorted, bins, self.unit)

    def cumulative(self) -> Summary | None:
        """Summary of every kept sample; None when there are none."""
        if not self._samples:
            return None
        self._sync_sorted()
        n = len(self._sorted)
        assert self._shift is not None
        mean = self._shift + self._sum / n
        variance = (self._sum_sq - self._sum * self._sum / n) / (n - 1) if n > 1 else 0.0
        moments = (mean, math.sqrt(max(variance, 0.0)))
        return _summary_of_sorted(self._sorted, self.unit, self._method(), moments)


__all__ = [
    "DEFAULT_MAX_SAMPLES",
    "METHOD",
    "PERCENTILES",
    "PERCENTILE_KEYS",
    "Histogram",
    "RollingPercentiles",
    "Summary",
    "histogram_of_sorted",
    "min_samples",
    "nearest_rank",
    "percentile_key",
    "percentile_nearest_rank",
    "summarize",
]
