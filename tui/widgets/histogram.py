"""The latency histogram of a live run, drawn in text from the snapshot's real bin counts.

The snapshot carries every measured batch latency counted in equal-width bins over [min, max]
(:class:`profilers.stats.Histogram`). A terminal narrower than the bin count merges whole groups
of adjacent bins, so every column covers the same width of latency.
"""

from __future__ import annotations

import math

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

from profilers.stats import Histogram
from tui.widgets.units import ms

_BLOCKS = " ▁▂▃▄▅▆▇█"


def columns(histogram: Histogram, width: int) -> list[int]:
    """The bin counts merged in groups of equal size, into at most ``width`` columns."""
    group = max(1, math.ceil(len(histogram.counts) / max(1, width)))
    counts = histogram.counts
    return [sum(counts[i : i + group]) for i in range(0, len(counts), group)]


def render_histogram(histogram: Histogram | None, width: int, height: int) -> Text:
    """``height - 1`` rows of bars and one axis row (min … max) in ``width`` cells."""
    rows = max(1, height - 1)
    if histogram is None:
        return Text("no samples yet", style="dim")
    bars = columns(histogram, width)
    peak = max(bars) or 1
    levels = [round(count / peak * rows * 8) for count in bars]
    text = Text()
    for row in range(rows, 0, -1):
        line = "".join(_BLOCKS[min(8, max(0, level - (row - 1) * 8))] for level in levels)
        text.append(line + "\n", style="cyan")
    low, high = ms(histogram.low), ms(histogram.high)
    gap = max(1, len(bars) - len(low) - len(high))
    text.append(low + " " * gap + high, style="dim")
    return text


class LatencyHistogram(Widget):
    """Bars of a latency distribution; give it a Histogram with :meth:`show`."""

    DEFAULT_CSS = """
    LatencyHistogram { height: 5; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.histogram: Histogram | None = None

    def show(self, histogram: Histogram | None) -> None:
        if histogram != self.histogram:
            self.histogram = histogram
            self.refresh()

    def render(self) -> RenderableType:
        return render_histogram(self.histogram, self.size.width, self.size.height)
