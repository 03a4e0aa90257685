"""A scrolling history line: one cell per point, newest on the right, its range written beside.

Textual's ``Sparkline`` spreads its data over the whole width, so the first few points of a run
fill the line as if they were a long history. Here each point keeps one cell and the line fills
from the right as the run goes on. Bars span the shown points' range (or a fixed one, 0–100 for
a percentage), and the range is written after them, so jitter is visible and never misread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

_BARS = "▁▂▃▄▅▆▇█"


def scale(points: list[float], fixed: tuple[float, float] | None) -> tuple[float, float]:
    """The range the bars span: ``fixed`` (0–100 for a percentage), else the points' own range
    widened by half of it below, so that jitter shows and a steady line sits mid-height."""
    if fixed is not None:
        return fixed
    low, high = min(points), max(points)
    if high <= low:
        pad = abs(low) or 1.0
        return low - pad, high + pad
    return max(0.0, low - (high - low) / 2), high


def trend_line(
    points: Iterable[float],
    width: int,
    fixed: tuple[float, float] | None = None,
    label: Callable[[float], str] | None = None,
) -> Text:
    """The last points as bars, newest at the right, one cell each; with ``label``, the range
    of the shown points is written after the bars (``20.1–24.2 ms``)."""
    values = list(points)
    tail = ""
    if label is not None and values:
        recent = values[-max(1, width - 14) :]
        tail = f" {label(min(recent))}–{label(max(recent))}"
    cells = max(0, width - len(tail))
    shown = values[-cells:] if cells else []
    text = Text(" " * (cells - len(shown)))
    if shown:
        low, high = scale(shown, fixed)
        for value in shown:
            level = min(1.0, max(0.0, (value - low) / (high - low)))
            # ▁ is an eighth of a cell, █ all of it; the lowest value still shows as ▁
            text.append(_BARS[max(0, round(level * len(_BARS)) - 1)], style="cyan")
    text.append(tail, style="dim")
    return text


class Trend(Widget):
    """Give it a sequence of points with :meth:`show`; ``fixed`` fixes the scale ((0, 100) for
    a percentage); ``label`` formats the range written after the bars."""

    DEFAULT_CSS = "Trend { height: 1; width: 1fr; }"

    def __init__(
        self,
        *,
        fixed: tuple[float, float] | None = None,
        label: Callable[[float], str] | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.fixed = fixed
        self.label = label
        self.points: list[float] = []

    def show(self, points: Iterable[float]) -> None:
        self.points = list(points)
        self.refresh()

    def render(self) -> RenderableType:
        return trend_line(self.points, self.size.width, self.fixed, self.label)
