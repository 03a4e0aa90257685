"""Throughput from per-batch timings of one or more workers.

Headline figure: completed work divided by the wall-clock window from the earliest batch start to
the latest batch end over all workers. Work done by workers running at the same time therefore adds
up over the shared window; throughput is never derived from mean latency (that is how
optimum-benchmark's multi-process bug #217 came about).

Windowed figures (beside the headline, NeuronPerf style), exactly:

1. Windows of ``window_s`` seconds are laid from the earliest batch start ``t0``: window ``k``
   covers ``[t0 + k*w, t0 + (k+1)*w)``. The last window is the one holding the latest batch end.
2. A batch belongs, whole, to the window its end falls in.
3. The first and the last window are dropped (the first holds start-up, the last is partial), as
   NeuronPerf's ``throughput_avg`` does.
4. Windowed figures are given only when at least three of the remaining windows each hold a
   finished batch; otherwise ``windowed`` is None.
5. Each remaining window's rate is its work divided by ``window_s``. ``*_avg`` is the mean rate over
   all remaining windows, empty ones included (an empty second is a real second of no output);
   ``*_peak`` is the highest window rate. ``count`` is the number of remaining windows.

Per-window rates are lumpy when a batch takes about as long as a window (8 sequences in one second,
none in the next), so the peak overstates sustained throughput; the headline is the figure to quote.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
    windows_with_batches: int  # of those, windows holding at least one finished batch
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


def windowed_throughput(
    timings: Sequence[BatchTiming], window_s: float = 1.0
) -> WindowedThroughput | None:
    """Windowed average and peak (see the module docstring); None with too few windows."""
    if not window_s > 0.0 or not math.isfinite(window_s):
        raise ValueError(f"window_s must be positive, got {window_s!r}")
    if not timings:
        return None
    t0 = min(b.start for b in timings)
    index = [math.floor((b.end - t0) / window_s) for b in timings]
    n_windows = max(index) + 1
    kept = range(1, n_windows - 1)  # drop the first (0) and the last (n_windows - 1)
    if len(kept) < MIN_WINDOWS:
        return None
    seqs = [0] * n_windows
    toks = [0] * n_windows
    res = [0] * n_windows
    busy = [False] * n_windows
    for b, k in zip(timings, index, strict=True):
        seqs[k] += b.sequences
        toks[k] += b.tokens
        res[k] += b.residues
        busy[k] = True
    with_batches = sum(1 for k in kept if busy[k])
    if with_batches < MIN_WINDOWS:
        return None

    def avg(values: list[int]) -> float:
        return sum(values[k] for k in kept) / len(kept) / window_s

    def peak(values: list[int]) -> float:
        return max(values[k] for k in kept) / window_s

    return WindowedThroughput(
        window_s=window_s,
        count=len(kept),
        windows_with_batches=with_batches,
        sequences_per_s_avg=avg(seqs),
        sequences_per_s_peak=peak(seqs),
        tokens_per_s_avg=avg(toks),
        tokens_per_s_peak=peak(toks),
        residues_per_s_avg=avg(res),
        residues_per_s_peak=peak(res),
    )


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
    "throughput",
    "windowed_throughput",
]
