"""The Setup form's choices and values, as typed, and the RunSpec they make (checked like the
CLI's flags)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engines.catalog import ModelInfo
from engines.errors import InvalidInputError
from engines.spec import FIELDS_BY_NAME, RunSpec
from tui.screens.setup_fields import spec_fields

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


@dataclass(frozen=True)
class FormValues:
    """What the form holds, as typed."""

    model: str
    device: str
    dtype: str
    int8: str
    prune: str
    attention: str
    compile: str
    batching: str
    batch_value: str
    workload: str
    workload_value: str
    duration: str
    warmup: str
    min_iters: str
    workers: str
    mode: str = "inference"
    task: str = "mlm"
    finetune: str = "full"
    labels: str = ""
    lr: str = "0.0001"
    # The folded sections' widgets, by field name: text, or a checkbox's state.
    more: Mapping[str, str | bool] = field(default_factory=dict)


def _whole(label: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidInputError(f"{label} must be a whole number (got '{text}')") from None


def _decimal(label: str, text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise InvalidInputError(f"{label} must be a number of seconds (got '{text}')") from None


def pruning_fields(text: str) -> dict[str, Any]:
    """The pruning box: a weight scheme (``none``, ``2:4``, ``unstructured:S``) and/or
    ``layers:N`` (drop the last N layers) and ``heads:N`` (drop N heads per layer), space- or
    comma-separated, e.g. ``2:4 layers:2``."""
    fields: dict[str, Any] = {"prune": "none", "prune_layers": 0, "prune_heads": 0}
    schemes = []
    for word in text.replace(",", " ").split():
        kind, _, count = word.partition(":")
        if kind in ("layers", "heads"):
            fields[f"prune_{kind}"] = _whole(f"pruning {kind}", count)
        else:
            schemes.append(word)
    if len(schemes) > 1:
        raise InvalidInputError(f"pruning: one weight scheme at a time (got {', '.join(schemes)})")
    if schemes:
        fields["prune"] = schemes[0]
    return fields


def pruning_text(spec: RunSpec) -> str:
    """The pruning box's text for ``spec`` (inverse of :func:`pruning_fields`)."""
    words = [] if spec.prune == "none" else [spec.prune]
    if spec.prune_layers:
        words.append(f"layers:{spec.prune_layers}")
    if spec.prune_heads:
        words.append(f"heads:{spec.prune_heads}")
    return " ".join(words) or "none"


def spec_from_form(base: RunSpec, values: FormValues) -> RunSpec:
    """``base`` with the form's fields applied; raises ``InvalidInputError`` like the CLI does."""
    size = _whole(
        "batch size" if values.batching == "batch" else "token budget", values.batch_value
    )
    workload: dict[str, Any] = {"seq_len": None, "lengths": None, "fasta": None}
    if values.workload == "seq_len":
        workload["seq_len"] = _whole("sequence length", values.workload_value)
    elif not values.workload_value.strip():
        what = "a length distribution" if values.workload == "lengths" else "a FASTA path"
        raise InvalidInputError(f"give {what}, or pick another workload")
    else:
        workload[values.workload] = values.workload_value.strip()
    fields: dict[str, Any] = dict(
        model=values.model,
        device=values.device,
        devices=(),
        dtype=values.dtype,
        int8=values.int8,
        **pruning_fields(values.prune),
        attention=values.attention,
        compile=values.compile,
        batch_size=size if values.batching == "batch" else base.batch_size,
        token_budget=None if values.batching == "batch" else size,
        packing=values.batching == "packed",
        buckets=base.buckets if values.batching == "batch" else (),
        duration_s=_decimal("duration", values.duration),
        warmup=_whole("warm-up", values.warmup),
        min_iters=_whole("min iterations", values.min_iters),
        workers=_whole("workers", values.workers),
        mode=values.mode,
        task=values.task,
        finetune=values.finetune,
        labels=values.labels.strip() or None,
        lr=_number("learning rate", values.lr),
        **workload,
    )
    return base.replace(**{**fields, **spec_fields(values.more)})


def _number(label: str, text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise InvalidInputError(f"{label} must be a number (got '{text}')") from None


def model_label(info: ModelInfo) -> str:
    longest = f"{info.max_residues:,}" if info.max_residues else "any"
    return f"{info.id} · {short_count(info.expected_params)} params · max {longest} res"


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
