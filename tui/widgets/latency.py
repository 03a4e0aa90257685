"""The live latency panel: p50/p90/p95/p99 over the last window and the whole run, their
histories and a histogram. A percentile that too few samples back carries a ``*``."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label

from profilers.labels import UNBACKED
from profilers.snapshot import Snapshot
from profilers.stats import PERCENTILES, Summary, min_samples, percentile_key
from tui.widgets.histogram import LatencyHistogram
from tui.widgets.history import LiveHistory
from tui.widgets.trend import Trend
from tui.widgets.units import NA, ms

SHOWN = ("p50", "p90", "p95", "p99")
_NEEDED = {percentile_key(p): min_samples(p) for p in PERCENTILES if percentile_key(p) in SHOWN}


def percentile_cell(summary: Summary | None, key: str) -> Text:
    """One percentile as shown: ``12.3 ms``, dim with ``*`` when too few samples back it."""
    if summary is None:
        return Text(NA, style="dim")
    value = ms(getattr(summary, key))
    if summary.backed.get(key, False):
        return Text(value)
    return Text(value + UNBACKED, style="dim")


def latency_table(window: Summary | None, total: Summary | None, window_s: float) -> Text:
    """The percentile table as text: one row per percentile, window and whole-run columns."""
    text = Text()
    text.append(f"{'':<5}{f'last {window_s:g} s':<13}whole run\n", style="bold")
    for key in SHOWN:
        text.append(f"{key:<5}", style="bold")
        cell = percentile_cell(window, key)
        text.append_text(cell)
        text.append(" " * max(1, 13 - len(cell.plain)))
        text.append_text(percentile_cell(total, key))
        text.append("\n")
    counts = [NA if s is None else f"{s.count:,}" for s in (window, total)]
    text.append(f"{'n':<5}", style="bold")
    text.append(f"{counts[0]:<13}{counts[1]}")
    return text


def backed_note(window: Summary | None, total: Summary | None) -> Text:
    """Says what ``*`` means, with the sample count the first unbacked percentile needs."""
    shown = [s for s in (window, total) if s is not None]
    if not shown:
        return Text(f"{UNBACKED} marks a percentile too few samples back", style="dim")
    missing = [k for k in SHOWN if any(not s.backed.get(k, False) for s in shown)]
    if not missing:
        return Text("enough samples back every percentile", style="dim")
    key = missing[0]
    return Text(f"{UNBACKED} too few samples ({key} needs {_NEEDED[key]:,})", style="dim")


def _ms_label(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


class LatencyPanel(Vertical):
    """Latency per batch. Call :meth:`show` with the latest snapshot and the history."""

    def compose(self) -> ComposeResult:
        yield Label(latency_table(None, None, 5.0), id="latency-table")
        with Horizontal(classes="spark-row"):
            yield Label("p50 ms", classes="spark-label")
            yield Trend(label=_ms_label, id="p50-history")
        with Horizontal(classes="spark-row"):
            yield Label("p99 ms", classes="spark-label")
            yield Trend(label=_ms_label, id="p99-history")
        yield Label(backed_note(None, None), id="latency-note")

    def on_mount(self) -> None:
        self.border_title = "latency per batch"

    def show(self, snapshot: Snapshot | None, history: LiveHistory) -> None:
        window = snapshot.latency_window if snapshot else None
        total = snapshot.latency_total if snapshot else None
        window_s = snapshot.window_s if snapshot else 5.0
        self.query_one("#latency-table", Label).update(latency_table(window, total, window_s))
        self.query_one("#p50-history", Trend).show(history.p50)
        self.query_one("#p99-history", Trend).show(history.p99)
        self.query_one("#latency-note", Label).update(backed_note(window, total))


class DistributionPanel(Vertical):
    """The whole run's batch latencies, counted per bin."""

    def compose(self) -> ComposeResult:
        yield LatencyHistogram(id="latency-histogram")
        yield Label("whole run", id="histogram-caption", classes="caption")

    def on_mount(self) -> None:
        self.border_title = "latency distribution"

    def show(self, snapshot: Snapshot | None) -> None:
        histogram = snapshot.latency_histogram if snapshot else None
        self.query_one(LatencyHistogram).show(histogram)
        counted = f"{sum(histogram.counts):,} batches, " if histogram else ""
        self.query_one("#histogram-caption", Label).update(f"{counted}whole run")
