"""A latency histogram drawn in text, shaped from the percentiles a live Summary carries.

A live ``Snapshot`` holds summaries, not raw samples. Their quantiles (min, p50, p90, p95, p99,
p99.9, max) are points of the empirical distribution function; joining them with straight lines
gives a distribution whose mass per bin is drawn here. The title says so, so the shape is never
read as an exact count of samples.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import pairwise

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

from profilers.stats import Summary
from tui.widgets.units import ms

_BLOCKS = " ▁▂▃▄▅▆▇█"


def quantile_points(summary: Summary) -> list[tuple[float, float]]:
    """(value, cumulative fraction) points of ``summary``, ascending."""
    points = [
        (summary.min, 0.0),
        (summary.p50, 0.50),
        (summary.p90, 0.90),
        (summary.p95, 0.95),
        (summary.p99, 0.99),
        (summary.p99_9, 0.999),
        (summary.max, 1.0),
    ]
    return sorted(points)


def _cdf(points: list[tuple[float, float]], x: float) -> float:
    xs = [p[0] for p in points]
    if x < xs[0]:
        return 0.0
    if x >= xs[-1]:
        return 1.0
    i = bisect_right(xs, x) - 1  # last point with value <= x; the next one lies above x
    (x0, f0), (x1, f1) = points[i], points[i + 1]
    return f0 + (f1 - f0) * (x - x0) / (x1 - x0)


def histogram_from_summary(summary: Summary, bins: int) -> list[float]:
    """Fraction of the samples in each of ``bins`` equal-width bins over [min, max] (sums to 1)."""
    bins = max(1, bins)
    if summary.max <= summary.min:
        return [1.0] + [0.0] * (bins - 1)
    points = quantile_points(summary)
    width = (summary.max - summary.min) / bins
    edges = [summary.min + i * width for i in range(bins)] + [summary.max]
    fractions = [_cdf(points, b) - _cdf(points, a) for a, b in pairwise(edges)]
    fractions[0] += _cdf(points, summary.min)  # a jump at the minimum belongs to the first bin
    return fractions


def render_histogram(summary: Summary | None, width: int, height: int) -> Text:
    """``height - 1`` rows of bars and one axis row (min … max) in ``width`` cells."""
    rows = max(1, height - 1)
    if summary is None:
        return Text("no samples yet", style="dim")
    fractions = histogram_from_summary(summary, max(1, width))
    peak = max(fractions) or 1.0
    levels = [round(f / peak * rows * 8) for f in fractions]
    text = Text()
    for row in range(rows, 0, -1):
        line = ""
        for level in levels:
            fill = level - (row - 1) * 8
            line += _BLOCKS[min(8, max(0, fill))]
        text.append(line + "\n", style="cyan")
    low, high = ms(summary.min), ms(summary.max)
    gap = max(1, width - len(low) - len(high))
    text.append(low + " " * gap + high, style="dim")
    return text


class LatencyHistogram(Widget):
    """Bars of a latency distribution; give it a Summary with :meth:`show`."""

    DEFAULT_CSS = """
    LatencyHistogram { height: 5; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.summary: Summary | None = None

    def show(self, summary: Summary | None) -> None:
        if summary != self.summary:
            self.summary = summary
            self.refresh()

    def render(self) -> RenderableType:
        return render_histogram(self.summary, self.size.width, self.size.height)
