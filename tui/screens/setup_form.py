"""The whole Setup form as rows, from the settings' descriptions, and the RunSpec it makes.

:func:`form_sections` is the one loop over the RunSpec fields the CLI takes: each field is
drawn by the compound row registered for it in :data:`COMPOUND_ROWS` (fields entered together:
the model select with its local-directory box, the detected devices, the pruning box, batching,
workload), else by a :class:`~tui.screens.setup_fields.FieldRow` made from its description, in
the main form or the folded section its ``group`` names. Every box is read the CLI's way
(``setup_fields.read_text``); :func:`spec_from_form` makes the RunSpec, checked like the CLI's
flags.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from textual.containers import Horizontal
from textual.suggester import SuggestFromList
from textual.widget import Widget

from engines.catalog import MODELS, ModelInfo
from engines.errors import InvalidInputError
from engines.fasta import check_fasta_path
from engines.spec import FIELDS_BY_NAME, SPEC_FIELDS, RunSpec
from profilers.options import MeasureOptions
from tui.screens.setup_fields import (
    GROUP_TITLES,
    Context,
    FieldRow,
    Raw,
    Row,
    as_text,
    box,
    choose,
    label,
    measure_rows,
    read_field,
    read_text,
)

# The model select's entry for a local Hugging Face model directory (``plmprof run -m DIR``).
LOCAL_MODEL = "<local directory>"
LOCAL_HINT = "a local Hugging Face model directory: config.json and weights"
BATCHING = (
    ("batch size", "batch"),
    ("token budget", "budget"),
    ("packed rows, tokens", "packed"),
)
WORKLOADS = (
    ("sequence length", "seq_len"),
    ("length distribution", "lengths"),
    ("FASTA file", "fasta"),
)
# What the workload box holds when its kind is first picked.
WORKLOAD_DEFAULTS = {
    "seq_len": str(FIELDS_BY_NAME["seq_len"].default),
    "lengths": "uniform:50-500",
    "fasta": "",
}
WORKLOAD_HINTS = {
    "seq_len": "residues per synthetic sequence",
    "lengths": "fixed:N, uniform:A-B, uniref50-like or proteome",
    "fasta": "path to a FASTA file",
}
PRUNE_SUGGESTIONS = [
    "none",
    "2:4",
    "unstructured:0.5",
    "unstructured:0.3",
    "unstructured:0.7",
    "layers:2",
    "heads:2",
]


def short_count(count: int) -> str:
    """7409081 → ``7.4M``, 2832444321 → ``2.8B``."""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f}{unit}"
    return str(count)


def model_label(info: ModelInfo) -> str:
    longest = f"{info.max_residues:,}" if info.max_residues else "any"
    return f"{info.id} · {short_count(info.expected_params)} params · max {longest} res"


@dataclass(frozen=True)
class ModelRow(Row):
    """A catalog model, or "local directory…" and a box for the directory (as ``-m DIR``)."""

    def compose(self, values: Raw, context: Context) -> Iterator[Widget]:
        catalog = [(model_label(i), i.id) for i in MODELS.values()]
        yield label(self.label)
        yield choose("model", [*catalog, ("local directory…", LOCAL_MODEL)], values["model"])
        local = values["model"] == LOCAL_MODEL
        for widget in (
            label("model dir", "local-model"),
            box("model-dir", values["model-dir"], LOCAL_HINT, classes="local-model"),
        ):
            widget.display = local
            yield widget

    def read(self, raw: Raw) -> dict[str, Any]:
        if raw["model"] != LOCAL_MODEL:
            return {"model": raw["model"]}
        folder = str(raw["model-dir"]).strip()
        if not folder:
            raise InvalidInputError("model dir: give a model directory, or pick a catalog model")
        return {"model": folder}

    def show(self, spec: RunSpec, options: MeasureOptions) -> dict[str, str | bool]:
        if spec.model in MODELS:
            return {"model": spec.model, "model-dir": ""}
        return {"model": LOCAL_MODEL, "model-dir": spec.model}


@dataclass(frozen=True)
class DeviceRow(Row):
    """The devices detected on this machine."""

    def compose(self, values: Raw, context: Context) -> Iterator[Widget]:
        yield label(self.label)
        yield choose("device", [(d, d) for d in context.devices], context.device)

    def read(self, raw: Raw) -> dict[str, Any]:
        return {"device": raw["device"]}

    def show(self, spec: RunSpec, options: MeasureOptions) -> dict[str, str | bool]:
        return {"device": spec.device}

    def lost(self, spec: RunSpec, context: Context) -> list[str]:
        if spec.device in context.devices:
            return []
        return [f"device {spec.device} is not on this machine"]


@dataclass(frozen=True)
class PruningRow(Row):
    """One box: a weight scheme (``none``, ``2:4``, ``unstructured:S``) and/or ``layers:N``
    (drop the last N layers) and ``heads:N`` (drop N heads per layer), space- or
    comma-separated, e.g. ``2:4 layers:2``."""

    def compose(self, values: Raw, context: Context) -> Iterator[Widget]:
        yield label(self.label)
        yield box(
            "prune",
            values["prune"],
            "none, 2:4, unstructured:S; layers:N, heads:N",
            suggester=SuggestFromList(PRUNE_SUGGESTIONS),
        )

    def read(self, raw: Raw) -> dict[str, Any]:
        fields: dict[str, Any] = {"prune": "none", "prune_layers": 0, "prune_heads": 0}
        schemes = []
        for word in str(raw["prune"]).replace(",", " ").split():
            kind, _, count = word.partition(":")
            if kind in ("layers", "heads"):
                fields[f"prune_{kind}"] = read_field(FIELDS_BY_NAME[f"prune_{kind}"], count)
            else:
                schemes.append(word)
        if len(schemes) > 1:
            raise InvalidInputError(
                f"pruning: one weight scheme at a time (got {', '.join(schemes)})"
            )
        if schemes:
            fields["prune"] = schemes[0]
        return fields

    def show(self, spec: RunSpec, options: MeasureOptions) -> dict[str, str | bool]:
        words = [] if spec.prune == "none" else [spec.prune]
        if spec.prune_layers:
            words.append(f"layers:{spec.prune_layers}")
        if spec.prune_heads:
            words.append(f"heads:{spec.prune_heads}")
        return {"prune": " ".join(words) or "none"}


@dataclass(frozen=True)
class BatchingRow(Row):
    """Batch size, token budget or packed rows of a token budget, and the number."""

    def compose(self, values: Raw, context: Context) -> Iterator[Widget]:
        yield label(self.label)
        with Horizontal(classes="pair"):
            yield choose("batching", BATCHING, values["batching"])
            yield box("batch-value", values["batch-value"], "sequences, or tokens per batch")

    def read(self, raw: Raw) -> dict[str, Any]:
        batching = raw["batching"]
        name = "batch_size" if batching == "batch" else "token_budget"
        what = "batch size" if batching == "batch" else "token budget"
        size = read_text(what, FIELDS_BY_NAME[name].kind, False, raw["batch-value"])
        if batching == "batch":
            return {"batch_size": size, "token_budget": None, "packing": False}
        return {"token_budget": size, "packing": batching == "packed"}

    def show(self, spec: RunSpec, options: MeasureOptions) -> dict[str, str | bool]:
        packed = spec.packing and spec.token_budget
        batching = "packed" if packed else "budget" if spec.token_budget else "batch"
        return {"batching": batching, "batch-value": str(spec.token_budget or spec.batch_size)}

    def lost(self, spec: RunSpec, context: Context) -> list[str]:
        if spec.packing and not spec.token_budget:
            return ["packing sized by batch x longest (the form packs by token budget)"]
        return []


@dataclass(frozen=True)
class WorkloadRow(Row):
    """Synthetic sequences of a length, a length distribution, or a FASTA file."""

    def compose(self, values: Raw, context: Context) -> Iterator[Widget]:
        kind = str(values["workload"])
        yield label(self.label)
        with Horizontal(classes="pair"):
            yield choose("workload", WORKLOADS, kind)
            yield box("workload-value", values["workload-value"], WORKLOAD_HINTS[kind])

    def read(self, raw: Raw) -> dict[str, Any]:
        kind = str(raw["workload"])
        fields: dict[str, Any] = {"seq_len": None, "lengths": None, "fasta": None}
        text = str(raw["workload-value"]).strip()
        if kind == "seq_len":
            fields["seq_len"] = read_text("sequence length", "int", False, text)
        elif not text:
            what = "a length distribution" if kind == "lengths" else "a FASTA path"
            raise InvalidInputError(f"give {what}, or pick another workload")
        else:
            if kind == "fasta":
                check_fasta_path(Path(text))
            fields[kind] = text
        return fields

    def show(self, spec: RunSpec, options: MeasureOptions) -> dict[str, str | bool]:
        kind = "seq_len" if spec.seq_len is not None else "lengths" if spec.lengths else "fasta"
        return {"workload": kind, "workload-value": as_text(getattr(spec, kind))}


# The compound rows, by each field they hold.
COMPOUND_ROWS: dict[str, Row] = {
    name: row
    for row in (
        ModelRow("model", ("model",), ("model", "model-dir")),
        DeviceRow("device", ("device",), ("device",)),
        PruningRow("pruning", ("prune", "prune_layers", "prune_heads"), ("prune",)),
        BatchingRow(
            "batching", ("packing", "batch_size", "token_budget"), ("batching", "batch-value")
        ),
        WorkloadRow("workload", ("seq_len", "lengths", "fasta"), ("workload", "workload-value")),
    )
    for name in row.fields
}


@cache
def form_sections() -> tuple[tuple[str, tuple[Row, ...]], ...]:
    """(group, rows) of the main form, then of each folded section: a row for every RunSpec
    field the CLI takes, in declaration order, and the measurement options under "price"."""
    sections: dict[str, list[Row]] = {"main": [], **{group: [] for group in GROUP_TITLES}}
    sections["price"].extend(measure_rows())
    for info in SPEC_FIELDS:
        if not info.commands:
            continue
        row = COMPOUND_ROWS.get(info.name) or FieldRow.of(info)
        if row not in sections[info.group]:
            sections[info.group].append(row)
    return tuple((group, tuple(rows)) for group, rows in sections.items())


def form_rows() -> Iterator[Row]:
    for _, rows in form_sections():
        yield from rows


def form_values(spec: RunSpec, options: MeasureOptions) -> dict[str, str | bool]:
    """What every widget shows for ``spec`` and ``options``, by widget id."""
    return {k: v for row in form_rows() for k, v in row.show(spec, options).items()}


def spec_from_form(base: RunSpec, raw: Raw) -> RunSpec:
    """``base`` with the form's fields (``raw``: by widget id); raises ``InvalidInputError``
    like the CLI does."""
    fields = {k: v for row in form_rows() if row.fields for k, v in row.read(raw).items()}
    return base.replace(**fields)


def options_from_form(base: MeasureOptions, raw: Raw) -> MeasureOptions:
    """``base`` with the price and peak widgets' values (a blank box keeps ``base``'s)."""
    changes = {k: v for row in form_rows() if not row.fields for k, v in row.read(raw).items()}
    return replace(base, **changes)


def describe_plan(planned: Any) -> str:
    """A line about the planned workload that ``check_runnable`` returns, when it has one."""
    summary = getattr(planned, "summary", None)
    if summary is None:
        return "ready to run"
    cut = f", {summary.truncated} truncated" if summary.truncated else ""
    return (
        f"ready: {summary.sequences:,} sequences in {summary.batches:,} batches, "
        f"longest {summary.longest:,} residues{cut}"
    )
