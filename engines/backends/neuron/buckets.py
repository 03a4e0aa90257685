"""Which shapes get compiled: one traced model per (rows, tokens) bucket.

A traced Neuron model accepts exactly the shape it was traced with, so every batch of a Neuron run
has ``batch_size`` rows (dummy rows fill the last batch of a bucket) and a padded length taken
from a short list of bucket boundaries. The batches themselves come from
:func:`engines.batching.bucket_batches`; this module picks the boundaries when the user gave none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engines.batching import Batch
from engines.catalog import ModelInfo
from engines.errors import InvalidInputError, UnsupportedError
from engines.inputs import PlannedWorkload, plan_workload
from engines.spec import RunSpec

SMALLEST_BUCKET = 64


@dataclass(frozen=True, order=True)
class BucketShape:
    """The input shape one traced model takes: ``rows`` sequences of ``tokens`` tokens."""

    rows: int
    tokens: int

    @property
    def label(self) -> str:
        return f"{self.rows}x{self.tokens}"


def window_tokens(info: ModelInfo, special: int) -> int | None:
    """The longest input the model takes, in tokens (``None``: no fixed window)."""
    return None if info.max_residues is None else info.max_residues + special


def default_buckets(
    longest_tokens: int, window: int | None, smallest: int = SMALLEST_BUCKET
) -> tuple[int, ...]:
    """Powers of two from ``smallest`` up to the first one that holds ``longest_tokens``, the last
    one capped at the model ``window`` (so ESM's 1024-token window gives 64, 128, … 1024)."""
    if smallest <= 0:
        raise ValueError(f"smallest bucket must be positive, got {smallest}")
    if window is not None and longest_tokens > window:
        raise InvalidInputError(
            f"the longest sequence needs {longest_tokens} tokens, more than the model's window "
            f"of {window}"
        )
    bounds: list[int] = []
    boundary = smallest
    while True:
        capped = boundary if window is None else min(boundary, window)
        bounds.append(capped)
        if capped >= longest_tokens:
            return tuple(sorted(set(bounds)))
        boundary *= 2


def check_buckets(buckets: Iterable[int], window: int | None) -> None:
    """Reject a bucket longer than the model's window: the model cannot run that shape."""
    too_long = [b for b in buckets if window is not None and b > window]
    if too_long:
        raise InvalidInputError(
            f"bucket {too_long[0]} is longer than the model's window of {window} tokens; "
            f"use buckets of at most {window}"
        )


def check_batching(spec: RunSpec) -> None:
    """Token-budget batching makes a new shape for almost every batch: not for traced models."""
    if spec.token_budget:
        raise UnsupportedError(
            "--token-budget gives each batch its own shape, and a Neuron model is compiled per "
            "shape; use --buckets (or leave batching to the default buckets) with --batch-size"
        )


def plan_neuron_workload(spec: RunSpec, info: ModelInfo) -> tuple[RunSpec, PlannedWorkload]:
    """The spec with its bucket boundaries filled in, and the workload planned in buckets.

    The user's ``--buckets`` are kept; without them the boundaries are :func:`default_buckets`
    for the longest (truncated) sequence of the workload.
    """
    check_batching(spec)
    if spec.buckets:
        planned = plan_workload(spec, info)
        check_buckets(spec.buckets, window_tokens(info, planned.tokenizer.special_tokens))
        return spec, planned
    first = plan_workload(spec, info)
    special = first.tokenizer.special_tokens
    longest = max((len(p.sequence) + special for p in first.proteins), default=SMALLEST_BUCKET)
    bucketed = spec.replace(buckets=default_buckets(longest, window_tokens(info, special)))
    return bucketed, plan_workload(bucketed, info)


def bucket_shapes(batches: Sequence[Batch]) -> list[BucketShape]:
    """The distinct shapes of ``batches``, smallest first."""
    return sorted({BucketShape(b.rows, b.padded_len) for b in batches})


def describe_buckets(spec: RunSpec, given: bool) -> str:
    """One line for the run notes."""
    origin = "as given" if given else "default: powers of two up to the longest sequence"
    shown = ", ".join(str(b) for b in spec.buckets)
    return f"Neuron buckets ({origin}): {spec.batch_size} rows x {shown} tokens"
