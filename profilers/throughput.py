"""Throughput from per-batch timings of one or more workers.

Headline figure: completed work divided by the wall-clock window from the earliest batch start to
the latest batch end over all workers. Work done by workers running at the same time therefore adds
up over the shared window; throughput is never derived from mean latency (that is how
optimum-benchmark's multi-process bug #217 came about).

Windowed figures (beside the headline, NeuronPerf style), exactly:

1. Windows of ``window_s`` seconds are laid from the earliest batch start ``t0``: window ``k``
   covers ``[t0 + k*w, t0 + (k+1)*w)``. The last window is the one holding the latest batch end.
2. A batch's work is spread evenly over its own span ``[start, end]``: window ``k`` receives the
   fraction of the batch's duration that falls inside it (attribution by overlap). A batch longer
   than a window therefore contributes to every window it spans, instead of landing whole in the
   window its end falls in (which made a 9 s batch of 8 sequences read 8 seq/s in one window and
   0 in the eight before it).
3. The first and the last window are dropped (the first holds start-up, the last is partial), as
   NeuronPerf's ``throughput_avg`` does.
4. Windowed figures are given only when at least three of the remaining windows each overlap a
   batch; otherwise ``windowed`` is None.
5. Each remaining window's rate is its work divided by ``window_s``. ``*_avg`` is the mean rate over
   all remaining windows, empty ones included (an empty second is a real second of no output);
   ``*_peak`` is the highest window rate. ``count`` is the number of remaining windows.

The live figure (:func:`recent_rate`) uses the same attribution over the last ``window_s`` seconds
before a frontier up to which every worker's work is known, so it is never empty once a batch has
finished and never counts a whole batch into a window it only partly occupied.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class BatchTiming:
    """One finished batch. Times are seconds on one monotonic clock shared by all processes."""

    worker: int
    start: float
    end: float
    sequences: int
    residues: int
    tokens: int  # padded tokens computed (what the device did)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise ValueError("batch start and end must be finite")
        if self.end < self.start:
            raise ValueError(f"batch ends before it starts ({self.start} > {self.end})")
        if self.sequences < 0 or self.residues < 0 or self.tokens < 0:
            raise ValueError("batch counts must not be negative")


@dataclass(frozen=True)
class WindowedThroughput:
    """Average and peak over fixed windows, first and last window dropped."""

    window_s: float
    count: int  # windows used (after dropping the first and last)
    windows_with_batches: int  # of those, windows that some batch overlaps
    sequences_per_s_avg: float
    sequences_per_s_peak: float
    tokens_per_s_avg: float
    tokens_per_s_peak: float
    residues_per_s_avg: float
    residues_per_s_peak: float
    dropped_windows: int = 2

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Throughput:
    """Completed work over the measured wall-clock window, summed over workers."""

    window_s: float  # first batch start to last batch end, seconds
    sequences: int
    residues: int
    tokens: int
    batches: int
    workers: int
    sequences_per_s: float
    tokens_per_s: float
    residues_per_s: float
    windowed: WindowedThroughput | None

    def to_dict(self) -> dict[str, object]:
        return {
            "window_s": self.window_s,
            "sequences": self.sequences,
            "residues": self.residues,
            "tokens": self.tokens,
            "batches": self.batches,
            "workers": self.workers,
            "sequences_per_s": self.sequences_per_s,
            "tokens_per_s": self.tokens_per_s,
            "residues_per_s": self.residues_per_s,
            "windowed": None if self.windowed is None else self.windowed.to_dict(),
        }


MIN_WINDOWS = 3


def _overlap(start: float, end: float, low: float, high: float) -> float:
    """Fraction of ``[start, end]`` inside ``[low, high)``; an instant counts where it lies."""
    if end <= start:
        return 1.0 if low <= end < high else 0.0
    return max(0.0, min(end, high) - max(start, low)) / (end - start)


def _window_work(
    timings: Sequence[BatchTiming], low: float, high: float
) -> tuple[float, float, float, bool]:
    """Sequences, tokens and residues attributed by overlap to ``[low, high)``; any overlap."""
    seqs = toks = res = 0.0
    touched = False
    for b in timings:
        share = _overlap(b.start, b.end, low, high)
        if share > 0.0:
            touched = True
            seqs += b.sequences * share
            toks += b.tokens * share
            res += b.residues * share
    return seqs, toks, res, touched


def windowed_throughput(
    timings: Sequence[BatchTiming], window_s: float = 1.0
) -> WindowedThroughput | None:
    """Windowed average and peak (see the module docstring); None with too few windows."""
    if not window_s > 0.0 or not math.isfinite(window_s):
        raise ValueError(f"window_s must be positive, got {window_s!r}")
    if not timings:
        return None
    timings = sorted(timings, key=lambda b: (b.start, b.end, b.worker))  # sums in one order
    t0 = timings[0].start
    n_windows = math.floor((max(b.end for b in timings) - t0) / window_s) + 1
    kept = range(1, n_windows - 1)  # drop the first (0) and the last (n_windows - 1)
    if len(kept) < MIN_WINDOWS:
        return None
    windows = [_window_work(timings, t0 + k * window_s, t0 + (k + 1) * window_s) for k in kept]
    with_batches = sum(1 for w in windows if w[3])
    if with_batches < MIN_WINDOWS:
        return None

    def avg(column: int) -> float:
        return sum(w[column] for w in windows) / len(kept) / window_s

    def peak(column: int) -> float:
        return max(w[column] for w in windows) / window_s

    return WindowedThroughput(
        window_s=window_s,
        count=len(kept),
        windows_with_batches=with_batches,
        sequences_per_s_avg=avg(0),
        sequences_per_s_peak=peak(0),
        tokens_per_s_avg=avg(1),
        tokens_per_s_peak=peak(1),
        residues_per_s_avg=avg(2),
        residues_per_s_peak=peak(2),
    )


def known_until(timings: Sequence[BatchTiming], running: Collection[int]) -> float | None:
    """The latest instant up to which every worker's measured work is known: the earliest last
    batch end among workers in ``running`` (their next batch is in flight), or the latest end of
    all when none of the workers that measured is still running."""
    last: dict[int, float] = {}
    for b in timings:
        last[b.worker] = max(b.end, last.get(b.worker, b.end))
    if not last:
        return None
    pending = [end for worker, end in last.items() if worker in running]
    return min(pending) if pending else max(last.values())


def recent_rate(timings: Sequence[BatchTiming], until: float, window_s: float) -> float:
    """Sequences per second over the ``window_s`` seconds before ``until``, by overlap; the span
    is shortened to the time since the first batch start when the run is younger than a window."""
    if not window_s > 0.0 or not math.isfinite(window_s):
        raise ValueError(f"window_s must be positive, got {window_s!r}")
    low = max(until - window_s, min(b.start for b in timings))
    span = until - low
    if not span > 0.0:
        return 0.0
    return _window_work(timings, low, until)[0] / span


def throughput(timings: Sequence[BatchTiming], window_s: float = 1.0) -> Throughput | None:
    """Throughput of ``timings`` (any order, any number of workers).

    None when there are no timings or the measured window has zero length (work with no elapsed
    time has no rate). ``window_s`` is the width of the windows for the windowed figures.
    """
    if not timings:
        return None
    first = min(b.start for b in timings)
    last = max(b.end for b in timings)
    wall = last - first
    if not wall > 0.0:
        return None
    sequences = sum(b.sequences for b in timings)
    residues = sum(b.residues for b in timings)
    tokens = sum(b.tokens for b in timings)
    return Throughput(
        window_s=wall,
        sequences=sequences,
        residues=residues,
        tokens=tokens,
        batches=len(timings),
        workers=len({b.worker for b in timings}),
        sequences_per_s=sequences / wall,
        tokens_per_s=tokens / wall,
        residues_per_s=residues / wall,
        windowed=windowed_throughput(timings, window_s),
    )


__all__ = [
    "MIN_WINDOWS",
    "BatchTiming",
    "Throughput",
    "WindowedThroughput",
    "known_until",
    "recent_rate",
    "throughput",
    "windowed_throughput",
]
