"""The Setup form's rows, and the one way a row's text becomes a setting's value.

A row is a label and its widget(s) holding one or more settings. A RunSpec field gets a
:class:`FieldRow` built from its description (``engines.fields.setting``): a checkbox for a
yes/no setting, a list to pick from when the field names its ``choices``, a text box for the
rest (lists as comma lists, sizes as e.g. ``4GB``), the help text as placeholder and tooltip.
The fields entered together in one compound row (model, device, pruning, batching, workload)
are in ``tui.screens.setup_form``. The measurement options that are not RunSpec fields (price,
peak TFLOP/s, telemetry interval) get a :class:`MeasureRow` from the CLI's own declarations
(``tui.options.measure_parameters``).

Every box is read by :func:`read_text`, which hands the text to ``engines.fields.parse_text``,
the reader of the CLI's list and size options and of whole numbers and numbers as the CLI's
options read them: the same text gives the same value, or the same refusal, in both.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select

from engines.errors import InvalidInputError
from engines.fields import TEXT_KINDS, FieldInfo, Kind, parse_text
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from tui.options import measure_parameters

# What the form's widgets hold, by widget id: a box's text, a list's pick or a checkbox's state.
Raw = Mapping[str, str | bool]
# The folded sections, in the order they are drawn; "price" holds the measurement options.
GROUP_TITLES = {
    "workload": "workload: weights, buckets, sequences, seed",
    "measurement": "measurement: autocast, quality, threads, limits",
    "price": "price and peak: cost per hour, instance type, MFU peak",
    "training": "training: task, labels, LoRA, optimizer, learning rate",
    "neuron": "AWS Neuron",
    "gaudi": "Intel Gaudi",
}


@dataclass(frozen=True)
class Context:
    """What the rows need to know of the machine: the detected devices, the one to show."""

    devices: tuple[str, ...]
    device: str


@dataclass(frozen=True)
class Row:
    """One row of the form. ``fields``: the RunSpec fields it holds (none for a measurement
    option); ``ids``: its widgets' ids, whose values ``read`` takes."""

    label: str
    fields: tuple[str, ...]
    ids: tuple[str, ...]

    def compose(self, values: Raw, context: Context) -> Iterator[Widget]:
        """The label and the widget(s), showing ``values`` (by widget id)."""
        raise NotImplementedError

    def read(self, raw: Raw) -> dict[str, Any]:
        """The row's settings from its widgets' values; ``InvalidInputError`` naming the row."""
        raise NotImplementedError

    def show(self, spec: RunSpec, options: MeasureOptions) -> dict[str, str | bool]:
        """What its widgets show for ``spec`` and ``options`` (by widget id)."""
        raise NotImplementedError

    def lost(self, spec: RunSpec, context: Context) -> list[str]:
        """What of ``spec`` the row cannot show."""
        return []


class Tick(Checkbox):
    """A checkbox whose mark is blank when off: its state reads without colour (16-colour
    terminals, a plain ``tmux capture-pane``), where Textual's draws an X either way."""

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "X" if self.value else " "


def widget_id(name: str) -> str:
    return "field-" + name.replace("_", "-")


def field_label(info: FieldInfo) -> str:
    return info.flag.replace("-", " ")


def label(text: str, classes: str = "") -> Label:
    return Label(text, classes=f"field {classes}".strip())


def box(ident: str, value: str | bool, help_text: str, **kwargs: Any) -> Input:
    return Input(
        str(value), placeholder=help_text, tooltip=help_text, compact=True, id=ident, **kwargs
    )


def choose(ident: str, options: Sequence[tuple[str, str]], value: str | bool) -> Select[str]:
    return Select(options, value=str(value), allow_blank=False, compact=True, id=ident)


def as_text(value: Any) -> str:
    """A value as a box shows it (as the CLI would take it): lists as comma lists."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def field_text(info: FieldInfo, value: Any) -> str | bool:
    """What the widget of ``info`` shows for ``value``."""
    if info.kind == "bool":
        return bool(value)
    if info.kind == "size" and value is not None:
        return f"{value}MB"
    return as_text(value)


def read_text(name: str, kind: Kind, optional: bool, raw: str | bool) -> Any:
    """The value a widget holds: ``raw`` (its text, or a checkbox's state) read as ``kind`` by
    ``parse_text``. A blank box is a setting not given: None, an empty list, or an error naming
    ``name`` when the setting needs a value. Surrounding spaces are dropped."""
    if isinstance(raw, bool) or kind == "bool":
        return bool(raw)
    text = raw.strip()
    if not text:
        if optional:
            return None
        if kind in TEXT_KINDS:
            return ()
        raise InvalidInputError(f"{name}: give a value")
    return parse_text(kind, text, name)


def read_field(info: FieldInfo, raw: str | bool) -> Any:
    """The value of the RunSpec field ``info`` in a widget holding ``raw``."""
    return read_text(field_label(info), info.kind, info.optional, raw)


@dataclass(frozen=True)
class FieldRow(Row):
    """A RunSpec field entered on its own."""

    info: FieldInfo

    @classmethod
    def of(cls, info: FieldInfo) -> FieldRow:
        return cls(field_label(info), (info.name,), (widget_id(info.name),), info)

    def compose(self, values: Raw, context: Context) -> Iterator[Widget]:
        ident, info = self.ids[0], self.info
        yield label(self.label)
        value = values[ident]
        if isinstance(value, bool):
            yield Tick(info.help, value, compact=True, id=ident)
        elif info.choices:
            yield choose(ident, [(c, c) for c in info.choices], value)
        else:
            yield box(ident, value, info.help)

    def read(self, raw: Raw) -> dict[str, Any]:
        return {self.info.name: read_field(self.info, raw[self.ids[0]])}

    def show(self, spec: RunSpec, options: MeasureOptions) -> dict[str, str | bool]:
        return {self.ids[0]: field_text(self.info, getattr(spec, self.info.name))}


@dataclass(frozen=True)
class MeasureRow(Row):
    """A measurement option of the CLI's (``MeasureOptions`` field ``name``); a blank box keeps
    the app's own value."""

    name: str
    kind: Literal["float", "str"]
    help: str

    @classmethod
    def of(cls, name: str, kind: Literal["float", "str"], help: str) -> MeasureRow:
        label = name.removesuffix("_s").replace("_", " ")
        return cls(label, (), (widget_id(name),), name, kind, help)

    def compose(self, values: Raw, context: Context) -> Iterator[Widget]:
        yield label(self.label)
        yield box(self.ids[0], values[self.ids[0]], self.help)

    def read(self, raw: Raw) -> dict[str, Any]:
        value = read_text(self.label, self.kind, True, raw[self.ids[0]])
        return {} if value is None else {self.name: value}

    def show(self, spec: RunSpec, options: MeasureOptions) -> dict[str, str | bool]:
        return {self.ids[0]: as_text(getattr(options, self.name))}


def measure_rows() -> tuple[MeasureRow, ...]:
    """A row for each measurement option the CLI declares."""
    rows = []
    for parameter in measure_parameters():
        name = parameter.name
        field = name if hasattr(MeasureOptions, name) else f"{name}_s"
        annotation, option = get_args(parameter.annotation)[:2]
        union = isinstance(annotation, types.UnionType)
        types_ = set(get_args(annotation)) if union else {annotation}
        kind: Literal["float", "str"] = "float" if float in types_ else "str"
        rows.append(MeasureRow.of(field, kind, option.help or ""))
    return tuple(rows)
