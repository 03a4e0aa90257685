"""Every run of the session as a row of the shared summary shape (``profilers.export.COLUMNS``).

Space selects rows for compare and export, ``o`` sorts by the next column (``O`` flips the
order), ``x`` removes a row from the table (its results file stays on disk), ``R`` runs a row's
spec again and ``l`` loads it into the setup form.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from profilers.export import COLUMNS, MEASURED_COLUMNS, RUN_COLUMNS, format_value, summary_row
from profilers.labels import UNBACKED, unbacked_percentiles
from profilers.result import Result
from tui.render.summary import status_words
from tui.widgets.workers import status_style

# The model, its status in short words and the key figures first (p50, p99 and seq/s show
# without scrolling at 80 columns); then what else ran and was measured; long text (message,
# optimizations) last, each cut to a fixed width with an ellipsis. The full status words, the
# message and the file are on the line under the table.
_LONG_TEXT = ("optimizations",)
KEY_FIGURES = ("p50_ms", "p99_ms", "sequences_per_s")
_FIRST = ("model", "status", *KEY_FIGURES)
SHOWN: tuple[str, ...] = (
    *_FIRST,
    *(name for name in RUN_COLUMNS if name not in ("run_id", *_FIRST, *_LONG_TEXT)),
    *(name for name in MEASURED_COLUMNS if name not in _FIRST),
    "message",
    *_LONG_TEXT,
    "run_id",
)
TEXT_WIDTHS = {"message": 36, "optimizations": 28}  # the whole text is under the table
HEADERS = {name: header for name, header, _ in COLUMNS}
SORTABLE: tuple[str, ...] = ("#", *(name for name in SHOWN if name != "message"))
_TEXT_COLUMNS = {*RUN_COLUMNS, "message"}
_PERCENTILES = {"p50_ms": "p50", "p99_ms": "p99"}


def cell(name: str, value: Any, result: Result) -> Text:
    """A table cell: statuses in words, numbers right-aligned, ``–`` for not measured."""
    if name == "status":
        return Text(status_words(value, short=True), style=status_style(value))
    if name == "message":
        style = status_style(result.status) if value else ""
        return Text(value or "", style=style, no_wrap=True, overflow="ellipsis")
    if name in _LONG_TEXT:
        return Text(format_value(value), no_wrap=True, overflow="ellipsis")
    if name in _TEXT_COLUMNS:
        return Text(format_value(value))
    if value is not None and _PERCENTILES.get(name) in unbacked_percentiles(result.latency):
        return Text(format_value(value) + UNBACKED, style="dim", justify="right")
    return Text(format_value(value), justify="right")


def sort_value(name: str, number: int, row: dict[str, Any]) -> tuple[int, Any]:
    """Sort key: missing values last in either order, text by its words."""
    if name == "#":
        return (0, number)
    value = row.get(name)
    if value is None:
        return (1, 0)
    if name == "status":
        return (0, status_words(value, short=True))
    return (0, value if isinstance(value, int | float) else str(value))


class RunsTable(DataTable[Text]):
    """The runs of this session. ``results`` in the order they finished; rows keyed by run id."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Not in the footer: the line above the table lists them, and at 80 columns the
        # footer must keep the app's keys (Run, Stop, Export, Compare, Help, Quit).
        Binding("space", "toggle_select", "Select", show=False),
        Binding("a", "select_all", "All/none", show=False),
        Binding("o", "sort_next", "Sort", show=False),
        Binding("O", "sort_reverse", "Reverse sort", show=False),
        Binding("R", "rerun", "Re-run", show=False),
        Binding("l", "load", "Load into setup", show=False),
        Binding("x,delete", "delete", "Delete row", show=False),
    ]

    class Rerun(Message):
        def __init__(self, result: Result) -> None:
            super().__init__()
            self.result = result

    class Changed(Message):
        """Rows, selection or order changed."""

    class Load(Message):
        def __init__(self, result: Result) -> None:
            super().__init__()
            self.result = result

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.results: list[Result] = []
        self.numbers: dict[str, int] = {}
        self.selected: set[str] = set()
        self.sort_column = "#"
        self.sort_descending = False
        self._counter = 0

    def on_mount(self) -> None:
        self.rebuild()

    # -- data ------------------------------------------------------------------------------
    def add_result(self, result: Result) -> None:
        self.add_results([result])

    def add_results(self, results: list[Result]) -> None:
        """Rows for ``results`` (numbered in this order), the cursor on the last; a run already
        in the table is not added twice."""
        fresh = [r for r in results if r.run_id not in self.numbers]
        for result in fresh:
            self._counter += 1
            self.numbers[result.run_id] = self._counter
            self.results.append(result)
        if fresh:
            self.rebuild(focus_id=fresh[-1].run_id)

    def ordered(self) -> list[Result]:
        rows = {r.run_id: summary_row(r) for r in self.results}

        def key(result: Result) -> tuple[int, Any]:
            return sort_value(self.sort_column, self.numbers[result.run_id], rows[result.run_id])

        present = [r for r in self.results if key(r)[0] == 0]
        missing = [r for r in self.results if key(r)[0] == 1]
        present.sort(key=key, reverse=self.sort_descending)
        return present + missing

    def selected_results(self) -> list[Result]:
        """Selected rows in the order shown."""
        return [r for r in self.ordered() if r.run_id in self.selected]

    def current(self) -> Result | None:
        """The result under the cursor."""
        if not self.results or self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return next((r for r in self.results if r.run_id == key), None)

    # -- drawing ---------------------------------------------------------------------------
    def _label(self, name: str) -> Text:
        header = "#" if name == "#" else HEADERS[name]
        if name == self.sort_column:
            header += " ▼" if self.sort_descending else " ▲"
        return Text(header, style="bold")

    def rebuild(self, focus_id: str | None = None) -> None:
        current = self.current()
        focus_id = focus_id or (current.run_id if current else None)
        self.clear(columns=True)
        self.add_column(Text("✓"), key="selected", width=1)
        for name in ("#", *SHOWN):
            width = TEXT_WIDTHS.get(name)
            self.add_column(self._label(name), key=name, width=width)
        for result in self.ordered():
            row = summary_row(result)
            mark = self._mark(result.run_id)
            number = Text(str(self.numbers[result.run_id]), justify="right")
            cells = [mark, number, *(cell(n, row[n], result) for n in SHOWN)]
            self.add_row(*cells, key=result.run_id)
        if focus_id is not None and focus_id in self.numbers:
            self.move_cursor(row=self.get_row_index(focus_id))
        self.post_message(self.Changed())

    # -- actions ---------------------------------------------------------------------------
    def _mark(self, run_id: str) -> Text:
        return Text("✓" if run_id in self.selected else " ", style="bold green")

    def _refresh_marks(self) -> None:
        for result in self.results:
            self.update_cell(result.run_id, "selected", self._mark(result.run_id))
        self.post_message(self.Changed())

    def action_toggle_select(self) -> None:
        result = self.current()
        if result is None:
            return
        self.selected.symmetric_difference_update({result.run_id})
        self._refresh_marks()

    def action_select_all(self) -> None:
        everything = {r.run_id for r in self.results}
        self.selected = set() if self.selected >= everything else everything
        self._refresh_marks()

    def action_sort_next(self) -> None:
        index = SORTABLE.index(self.sort_column)
        self.sort_column = SORTABLE[(index + 1) % len(SORTABLE)]
        self.sort_descending = False
        self.rebuild()
        self.notify(f"sorted by {self._label(self.sort_column).plain}", timeout=2)

    def action_sort_reverse(self) -> None:
        self.sort_descending = not self.sort_descending
        self.rebuild()

    def action_delete(self) -> None:
        result = self.current()
        if result is None:
            return
        self.results.remove(result)
        self.selected.discard(result.run_id)
        del self.numbers[result.run_id]
        index = self.cursor_row
        self.rebuild()
        if self.row_count:
            self.move_cursor(row=min(index, self.row_count - 1))
        self.notify(f"run {result.run_id} removed from the table; its results file is kept")

    def action_rerun(self) -> None:
        result = self.current()
        if result is not None:
            self.post_message(self.Rerun(result))

    def action_load(self) -> None:
        result = self.current()
        if result is not None:
            self.post_message(self.Load(result))
