"""The export dialog: selected or all runs, as JSON, CSV or Markdown, to a file."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet

from engines.errors import PlmprofError
from profilers.export import render
from profilers.files import write_text
from profilers.result import Result

FORMATS = (("json", "JSON"), ("csv", "CSV"), ("md", "Markdown"))


def write_export(results: list[Result], fmt: str, path: Path, overwrite: bool = False) -> Path:
    """Render ``results`` with ``profilers.export.render`` and write them to ``path`` by
    plmprof's file policy (``profilers.files``)."""
    return write_text(path, render(results, fmt), overwrite=overwrite)


class ExportScreen(ModalScreen[Path | None]):
    """Dismisses with the path written, or ``None`` when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, selected: list[Result], everything: list[Result], directory: Path) -> None:
        super().__init__()
        self.selected = selected
        self.everything = everything
        self.directory = directory
        self.fmt = "json"
        self._confirmed: Path | None = None  # an existing file the user chose to replace

    def default_path(self, fmt: str) -> Path:
        return self.directory / f"plmprof-runs.{fmt}"

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box", classes="dialog"):
            with Horizontal(classes="dialog-row"):
                yield Label("runs", classes="field")
                with RadioSet(id="export-scope"):
                    yield RadioButton(
                        f"selected ({len(self.selected)})",
                        value=bool(self.selected),
                        disabled=not self.selected,
                        id="scope-selected",
                    )
                    yield RadioButton(
                        f"all ({len(self.everything)})", value=not self.selected, id="scope-all"
                    )
            with Horizontal(classes="dialog-row"):
                yield Label("format", classes="field")
                with RadioSet(id="export-format"):
                    for fmt, label in FORMATS:
                        yield RadioButton(label, value=fmt == self.fmt, id=f"format-{fmt}")
            with Horizontal(classes="dialog-row"):
                yield Label("file", classes="field")
                yield Input(str(self.default_path(self.fmt)), id="export-path", compact=True)
            yield Label("", id="export-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", id="export-go", variant="primary", compact=True)
                yield Button("Cancel", id="export-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#export-box").border_title = "export runs · esc cancels"
        self.query_one("#export-format", RadioSet).focus()

    @on(RadioSet.Changed, "#export-format")
    def _format_changed(self, event: RadioSet.Changed) -> None:
        fmt = (event.pressed.id or "format-json").removeprefix("format-")
        path = self.query_one("#export-path", Input)
        if Path(path.value) == self.default_path(self.fmt):
            path.value = str(self.default_path(fmt))
        self.fmt = fmt

    def chosen(self) -> list[Result]:
        pressed = self.query_one("#export-scope", RadioSet).pressed_button
        if pressed is not None and pressed.id == "scope-selected":
            return self.selected
        return self.everything

    @on(Button.Pressed, "#export-go")
    @on(Input.Submitted, "#export-path")
    def export(self) -> None:
        path = Path(self.query_one("#export-path", Input).value.strip()).expanduser()
        error = self.query_one("#export-error", Label)
        if path.is_file() and not path.is_symlink() and self._confirmed != path:
            self._confirmed = path
            error.update(Text(f"'{path}' exists: export again to replace it", style="bold"))
            return
        try:
            written = write_export(self.chosen(), self.fmt, path, overwrite=path == self._confirmed)
        except PlmprofError as exc:
            error.update(Text(f"✗ {exc}", style="bold red"))
            return
        self.dismiss(written)

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
