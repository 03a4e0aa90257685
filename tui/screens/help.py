"""Every key and what it does, read from the bindings themselves so the list cannot drift."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.keys import format_key
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.screens.compare import CompareScreen
from tui.screens.export import ExportScreen
from tui.widgets.runs_table import RunsTable

# What each action does, in more words than the footer has room for.
EXPLAINED = {
    "start_run": "run the Setup tab's settings (if they cannot run, says why)",
    "stop_run": "stop the run early; what was measured is kept (stopped early)",
    "export": "write the selected runs, or all, as JSON, CSV or Markdown",
    "compare": "compare the selected runs side by side, with ratios",
    "show_tab('setup')": "the Setup tab: model, device, optimizations, workload",
    "show_tab('live')": "the Live tab: percentiles, throughput, memory, devices",
    "show_tab('runs')": "the Runs tab: every run of this session",
    "help": "this list",
    "quit_app": "quit and print the runs table (a run going on is stopped first)",
    "toggle_select": "select or unselect the highlighted run",
    "select_all": "select every run, or none",
    "sort_next": "sort by the next column",
    "sort_reverse": "reverse the order",
    "rerun": "run the highlighted run's settings again",
    "load": "put the highlighted run's settings into the Setup form",
    "delete": "remove the highlighted run from the table (its file stays)",
    "next_baseline": "make the next run the one the ratios are to",
    "close": "close",
    "cancel": "close without writing anything",
}

MOVING = [
    ("tab / shift+tab", "next / previous field, table or button"),
    ("enter, space", "open a list; arrows move; enter picks (type to jump)"),
    ("enter", "press the focused button"),
    ("arrows, pgup/pgdn", "move in tables and scroll the live view"),
    ("letters in a text box", "type there: leave it with tab, or run with ctrl+r"),
]


def _rows(bindings: list[BindingType]) -> list[tuple[str, str]]:
    rows = []
    for item in bindings:
        binding = item if isinstance(item, Binding) else Binding(*item)
        if not binding.description:
            continue
        keys = " / ".join(format_key(k.strip()) for k in binding.key.split(","))
        description = EXPLAINED.get(binding.action, binding.description)
        if binding.priority and binding.action in ("start_run", "quit_app"):
            description += " (works while typing too)"
        rows.append((keys, description))
    return rows


def help_table(app_bindings: list[BindingType]) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0), expand=False)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    groups = [
        ("everywhere", _rows(app_bindings)),
        ("runs table (tab 3)", _rows(RunsTable.BINDINGS)),
        ("compare", _rows(CompareScreen.BINDINGS)),
        ("export dialog", _rows(ExportScreen.BINDINGS)),
        ("moving around", MOVING),
    ]
    for i, (title, rows) in enumerate(groups):
        if i:
            table.add_row("", "")
        table.add_row(Text(title, style="bold underline"), "")
        for keys, description in rows:
            table.add_row(keys, description)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Static(help_table(list(self.app.BINDINGS)), id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "keys · esc closes"
        self.query_one("#help-box").focus()

    def action_close(self) -> None:
        self.dismiss(None)
