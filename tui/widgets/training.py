"""The live training panel: the loss of every step so far as a trend, the last loss, and where
recent steps' time went (forward, backward, optimizer). Hidden for inference runs."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label

from profilers.snapshot import Snapshot
from tui.widgets.trend import Trend
from tui.widgets.units import NA, ms


def training_text(snapshot: Snapshot | None) -> Text:
    live = snapshot.training if snapshot is not None else None
    text = Text()
    if not live:
        return text
    text.append("loss    ", style="bold")
    text.append(f"{live['last_loss']:.4f}")
    skipped = live["scaler_skipped"]
    detail = f", {skipped} skipped by the loss scaler" if skipped else ""
    text.append(f"  step {live['steps']} ({live['warmup_steps']} warm-up{detail})", style="dim")
    text.append("\nphases  ", style="bold")
    phases = live.get("phases_p50_s")
    if phases is None:
        text.append(NA)
        text.append("  not separable on this device (one graph per step)", style="dim")
    else:
        total = sum(phases.values()) or 1.0
        text.append(
            " · ".join(f"{name} {ms(value)} {value / total:.0%}" for name, value in phases.items())
        )
        text.append("  p50, recent steps", style="dim")
    return text


class TrainingPanel(Vertical):
    """Call :meth:`show` with the latest snapshot; shown only while a training run is drawn."""

    def compose(self) -> ComposeResult:
        yield Label(training_text(None), id="training-text")
        with Horizontal(classes="spark-row"):
            yield Label("loss", classes="spark-label")
            yield Trend(label=lambda value: f"{value:.3g}", id="loss-history")

    def on_mount(self) -> None:
        self.border_title = "training"

    def show(self, snapshot: Snapshot | None) -> None:
        live = snapshot.training if snapshot is not None else None
        self.display = live is not None
        if live is None:
            return
        self.query_one("#training-text", Label).update(training_text(snapshot))
        self.query_one("#loss-history", Trend).show(live["loss"])
