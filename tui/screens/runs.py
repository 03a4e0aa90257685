"""The runs view: every finished or failed run of the session as a row, and what can be done."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label

from tui.render.summary import status_words
from tui.widgets.runs_table import RunsTable
from tui.widgets.workers import status_style

HINT = (
    "space select · a all · c compare · e export · o sort (O reverses) · "
    "R re-run · l load into setup · x delete"
)


class RunsPane(Vertical):
    def __init__(self, results_dir: Path, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.results_dir = results_dir

    def compose(self) -> ComposeResult:
        yield RunsTable(id="runs-table")
        yield Label("", id="runs-detail")
        yield Label("", id="runs-status")
        yield Label(Text(HINT, style="dim"), id="runs-hint")

    def on_mount(self) -> None:
        self.update_status()

    def update_status(self) -> None:
        table = self.query_one(RunsTable)
        count, chosen = len(table.results), len(table.selected)
        text = Text(f"{count} run{'s' if count != 1 else ''}")
        if chosen:
            text.append(f" · {chosen} selected", style="bold green")
        text.append(f" · every result is saved in {self.results_dir}/", style="dim")
        self.query_one("#runs-status", Label).update(text)

    def on_runs_table_changed(self) -> None:
        self.update_status()
        self.update_detail()

    def on_data_table_row_highlighted(self) -> None:
        self.update_detail()

    def update_detail(self) -> None:
        """The highlighted run in full: its status in words and, for a failure, the reason."""
        table = self.query_one(RunsTable)
        result = table.current()
        text = Text()
        if result is not None:
            number = table.numbers.get(result.run_id, "?")
            text.append(f"#{number} {result.run_id}: ", style="bold")
            text.append(status_words(result.status), style=status_style(result.status) or "green")
            if result.message:
                text.append(f" — {result.message}")
            text.append(f" · {self.results_dir / (result.run_id + '.json')}", style="dim")
        self.query_one("#runs-detail", Label).update(text)
