"""Runs side by side: one column per run, each figure with its ratio to the baseline run."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from profilers.export import COLUMNS, format_value, summary_row
from profilers.result import Result
from tui.render.summary import status_words

LOWER_IS_BETTER = frozenset(
    {"p50_ms", "p99_ms", "max_ram_mb", "max_allocated_mb", "joules_per_sequence", "usd_per_million"}
)
HIGHER_IS_BETTER = frozenset(
    {"sequences_per_s", "tokens_per_s", "residues_per_s", "useful_mfu_pct"}
)
COMPARED = tuple((n, h) for n, h, _ in COLUMNS if n != "run_id")


def ratio(value: Any, baseline: Any) -> float | None:
    """``value / baseline`` for two numbers, else ``None``."""
    numbers = (int, float)
    if not isinstance(value, numbers) or not isinstance(baseline, numbers) or baseline == 0:
        return None
    return float(value) / float(baseline)


def ratio_style(name: str, factor: float) -> str:
    if abs(factor - 1) < 0.005:
        return "dim"
    better = factor < 1 if name in LOWER_IS_BETTER else factor > 1
    return "green" if better else "red"


def compare_cell(name: str, value: Any, baseline: Any, is_baseline: bool) -> Text:
    """A figure, and for a numeric column of a run that is not the baseline, ``×ratio``."""
    if name == "status":
        return Text(status_words(value))
    text = Text(format_value(value))
    factor = ratio(value, baseline)
    if factor is None or not (name in LOWER_IS_BETTER or name in HIGHER_IS_BETTER):
        return text
    if is_baseline:
        text.append("  base", style="dim")
    else:
        text.append(f"  ×{factor:.2f}", style=ratio_style(name, factor))
    return text


class CompareScreen(ModalScreen[None]):
    """Compare two or more runs. ``b`` picks the next run as the baseline."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "next_baseline", "Next baseline"),
        Binding("escape,q,c", "close", "Close"),
    ]

    def __init__(self, results: list[Result], numbers: dict[str, int]) -> None:
        super().__init__()
        self.results = results
        self.numbers = numbers
        self.baseline = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="compare-box", classes="dialog"):
            yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
            yield Label("", id="compare-note")

    def on_mount(self) -> None:
        self.query_one(
            "#compare-box"
        ).border_title = f"compare {len(self.results)} runs · esc closes"
        self.fill()
        self.query_one(DataTable).focus()

    def fill(self) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        table.clear(columns=True)
        rows = [summary_row(r) for r in self.results]
        base = rows[self.baseline]
        table.add_column(Text("metric", style="bold"), key="metric")
        for i, result in enumerate(self.results):
            label = f"#{self.numbers.get(result.run_id, '?')} {result.run_id}"
            if i == self.baseline:
                label += " (base)"
            table.add_column(Text(label, style="bold"), key=result.run_id)
        for name, header in COMPARED:
            cells = [
                compare_cell(name, row[name], base[name], i == self.baseline)
                for i, row in enumerate(rows)
            ]
            table.add_row(Text(header, style="bold"), *cells, key=name)
        note = Text(
            "ratios are to the base run: green is better, red is worse · "
            "b next baseline · esc close",
            style="dim",
        )
        self.query_one("#compare-note", Label).update(note)

    def action_next_baseline(self) -> None:
        self.baseline = (self.baseline + 1) % len(self.results)
        self.fill()

    def action_close(self) -> None:
        self.dismiss(None)
