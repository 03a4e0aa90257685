"""The live throughput panel: sequences, tokens and residues per second with a history, MFU,
energy, J/sequence and cost per million sequences."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label

from profilers.snapshot import Snapshot
from tui.widgets.history import LiveHistory
from tui.widgets.trend import Trend
from tui.widgets.units import NA, number, percent


def _row(text: Text, label: str, value: str, extra: str = "") -> None:
    text.append(f"{label:<8}", style="bold")
    text.append(value)
    if extra:
        text.append(f"  {extra}", style="dim")
    text.append("\n")


def throughput_text(snapshot: Snapshot | None) -> Text:
    text = Text()
    s = snapshot
    window = f"last {s.window_s:g} s {number(s.sequences_per_s_window)}" if s else ""
    _row(text, "seq/s", number(s.sequences_per_s if s else None), window)
    _row(text, "tok/s", number(s.tokens_per_s if s else None), "padded")
    _row(text, "res/s", number(s.residues_per_s if s else None))
    text.rstrip()
    return text


def efficiency_text(snapshot: Snapshot | None) -> Text:
    """MFU, energy and cost; once a run measures, a missing figure says why it is missing."""
    s = snapshot
    measuring = s is not None and s.sequences_per_s is not None
    text = Text()
    mfu = s.useful_mfu if s else None
    why = "device peak unknown" if measuring else ""
    _row(text, "MFU", percent(mfu), "useful FLOPs" if mfu is not None else why)
    energy = s.energy_j if s else None
    if energy is None:
        _row(text, "energy", NA, "no power reading here" if measuring else "")
    else:
        per = number(s.joules_per_sequence if s else None)
        _row(text, "energy", number(energy, "J"), f"{per} J/seq")
    cost = s.cost_per_million if s else None
    if cost is None:
        _row(text, "$/1M", NA, "no price known" if measuring else "")
    else:
        _row(text, "$/1M", f"${number(cost)}", "per 1M sequences")
    text.rstrip()
    return text


class ThroughputPanel(Vertical):
    """Throughput and efficiency. Call :meth:`show` with the latest snapshot and the history."""

    def compose(self) -> ComposeResult:
        yield Label(throughput_text(None), id="throughput-text")
        with Horizontal(classes="spark-row"):
            yield Label("seq/s", classes="spark-label")
            yield Trend(label=number, id="throughput-history")
        yield Label(efficiency_text(None), id="efficiency-text")

    def on_mount(self) -> None:
        self.border_title = "throughput · efficiency"

    def show(self, snapshot: Snapshot | None, history: LiveHistory) -> None:
        self.query_one("#throughput-text", Label).update(throughput_text(snapshot))
        self.query_one("#throughput-history", Trend).show(history.sequences_per_s)
        self.query_one("#efficiency-text", Label).update(efficiency_text(snapshot))
