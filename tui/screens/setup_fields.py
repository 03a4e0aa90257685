"""The Setup form's folded sections, generated from the settings' own descriptions.

Every RunSpec field ``plmprof run`` takes whose group (``engines.fields.setting(group=...)``) is
not ``main`` gets a widget here, under a folded section per group, from its kind: a checkbox for
a yes/no setting, a text box for the rest (lists as comma lists, sizes as e.g. ``4GB``). The
measurement options that are not RunSpec fields (price, peak TFLOP/s, telemetry interval) come
from the same declarations as the CLI's (``tui.options.measure_parameters``). The main part of
the form (model, device, batching, workload...) is drawn by ``tui.screens.setup``;
:data:`MAIN_WIDGETS` says which of its widgets holds each of those fields.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any, get_args

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Checkbox, Collapsible, Input, Label

from engines.errors import InvalidInputError
from engines.fields import TEXT_KINDS, FieldInfo, parse_text
from engines.spec import SPEC_FIELDS, RunSpec
from profilers.options import MeasureOptions
from tui.options import measure_parameters

# The widget of the main form that holds each "main" field (tui.screens.setup draws them).
MAIN_WIDGETS = {
    "model": "model",
    "device": "device",
    "dtype": "dtype",
    "int8": "int8",
    "prune": "prune",
    "prune_layers": "prune",
    "prune_heads": "prune",
    "attention": "attention",
    "compile": "compile",
    "packing": "batching",
    "batch_size": "batch-value",
    "token_budget": "batch-value",
    "seq_len": "workload-value",
    "lengths": "workload-value",
    "fasta": "workload-value",
    "duration_s": "duration",
    "warmup": "warmup",
    "min_iters": "min-iters",
    "workers": "workers",
    "mode": "mode",
    "task": "task",
    "finetune": "finetune",
    "labels": "labels",
    "lr": "lr",
}
# The folded sections, in the order they are drawn; "price" holds the measurement options.
GROUP_TITLES = {
    "workload": "workload: weights, buckets, sequences, seed",
    "measurement": "measurement: autocast, quality, threads, limits",
    "price": "price and peak: cost per hour, instance type, MFU peak",
    "training": "training: LoRA, optimizer, steps",
    "neuron": "AWS Neuron",
    "gaudi": "Intel Gaudi",
}


def folded_fields() -> tuple[FieldInfo, ...]:
    """The RunSpec fields ``plmprof run`` takes that the main form does not draw."""
    return tuple(i for i in SPEC_FIELDS if "run" in i.commands and i.group != "main")


def widget_id(name: str) -> str:
    return "field-" + name.replace("_", "-")


def field_label(info: FieldInfo) -> str:
    return info.flag.replace("-", " ")


def _text(value: Any) -> str:
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
    return _text(value)


def read_field(label: str, kind: str, optional: bool, raw: str | bool) -> Any:
    """The value a widget holds: ``raw`` (its text, or a checkbox's state) read as ``kind``."""
    if isinstance(raw, bool) or kind == "bool":
        return bool(raw)
    text = raw.strip()
    if not text:
        if kind in TEXT_KINDS and not optional:
            return ()
        if optional:
            return None
        raise InvalidInputError(f"{label}: give a value")
    if kind in TEXT_KINDS:
        return parse_text(kind, text)  # type: ignore[arg-type]
    if kind in ("int", "float"):
        try:
            return int(text) if kind == "int" else float(text)
        except ValueError:
            what = "a whole number" if kind == "int" else "a number"
            raise InvalidInputError(f"{label} must be {what} (got '{text}')") from None
    return text


def spec_fields(raw: Mapping[str, str | bool]) -> dict[str, Any]:
    """The RunSpec fields of the folded sections' widgets (``raw``: by field name)."""
    return {
        i.name: read_field(field_label(i), i.kind, i.optional, raw[i.name])
        for i in folded_fields()
        if i.name in raw
    }


def _measure_fields() -> Iterator[tuple[str, str, str]]:
    """(MeasureOptions field, kind, help) of each measurement option the CLI declares."""
    for parameter in measure_parameters():
        name = parameter.name
        field = name if hasattr(MeasureOptions, name) else f"{name}_s"
        kind, option = get_args(parameter.annotation)[:2]
        types_ = set(get_args(kind)) if isinstance(kind, types.UnionType) else {kind}
        yield field, "float" if float in types_ else "str", option.help or ""


def measure_options(base: MeasureOptions, raw: Mapping[str, str | bool]) -> MeasureOptions:
    """``base`` with the price and peak widgets' values (a blank box keeps ``base``'s)."""
    changes = {}
    for field, kind, _ in _measure_fields():
        text = raw.get(field, "")
        value = read_field(field.replace("_", " "), kind, True, text)
        if value is not None:
            changes[field] = value
    return replace(base, **changes)


def _row(ident: str, label: str, help_text: str, value: str | bool) -> Iterator[Widget]:
    yield Label(label, classes="field")
    if isinstance(value, bool):
        yield Checkbox(help_text, value, compact=True, id=ident)
    else:
        yield Input(value, placeholder=help_text, tooltip=help_text, compact=True, id=ident)


def compose_folded(spec: RunSpec, options: MeasureOptions) -> ComposeResult:
    """A folded section per group, each setting a label and a widget."""
    for group, title in GROUP_TITLES.items():
        folded = Collapsible(title=title, collapsed=True, id=f"group-{group}")
        with folded, Vertical(classes="form-grid"):
            if group == "price":
                for field, _, help_text in _measure_fields():
                    label = field.removesuffix("_s").replace("_", " ")
                    text = _text(getattr(options, field))
                    yield from _row(widget_id(field), label, help_text, text)
            for info in folded_fields():
                if info.group == group:
                    value = field_text(info, getattr(spec, info.name))
                    yield from _row(widget_id(info.name), field_label(info), info.help, value)


def measure_field_names() -> tuple[str, ...]:
    """The MeasureOptions fields the price section shows."""
    return tuple(field for field, _, _ in _measure_fields())
