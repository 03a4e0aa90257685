"""Group sequences into batches: file order, a token budget (fair-esm style) or fixed buckets.

``lengths`` are residue counts; ``special`` is the tokenizer's ``special_tokens``; every padded
length is in tokens (residues + special).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from engines.errors import InvalidInputError


@dataclass(frozen=True)
class Batch:
    """Which sequences run together and the padded shape ``rows`` x ``padded_len`` they run at.

    ``rows`` exceeds ``len(indices)`` when dummy rows (no residues) fill a fixed batch size.
    """

    indices: tuple[int, ...]
    padded_len: int
    rows: int
    residues: int
    real_tokens: int

    @property
    def sequences(self) -> int:
        """Real (non-dummy) rows."""
        return len(self.indices)

    @property
    def dummy_rows(self) -> int:
        return self.rows - len(self.indices)

    @property
    def padded_tokens(self) -> int:
        """Tokens the device computes: every row at the padded length."""
        return self.rows * self.padded_len

    @property
    def padding_tokens(self) -> int:
        return self.padded_tokens - self.real_tokens

    @property
    def computed_segments(self) -> tuple[tuple[int, int], ...]:
        """``(count, tokens)`` of the sequences attention runs over: every row, padded."""
        return ((self.rows, self.padded_len),)


@dataclass(frozen=True)
class PackedBatch:
    """One packed row: the sequences ``indices`` (in row order), then ``padding`` pad tokens.

    The accounting fields match :class:`engines.batching.Batch`: ``real_tokens`` are the
    sequences' tokens (special tokens included), ``padded_tokens`` every token the device computes.
    """

    indices: tuple[int, ...]
    token_lengths: tuple[int, ...]
    special: int
    padding: int = 0

    def __post_init__(self) -> None:
        if len(self.indices) != len(self.token_lengths):
            raise ValueError("indices and token_lengths must have the same length")
        if self.padding < 0 or self.special < 0:
            raise ValueError("padding and special token count must not be negative")
        if any(n <= 0 or n < self.special for n in self.token_lengths):
            raise ValueError("every token length must be positive and hold the special tokens")

    @property
    def sequences(self) -> int:
        return len(self.indices)

    @property
    def residue_lengths(self) -> tuple[int, ...]:
        """Residues of each sequence, in row order."""
        return tuple(n - self.special for n in self.token_lengths)

    @property
    def residues(self) -> int:
        return self.real_tokens - self.special * self.sequences

    @property
    def real_tokens(self) -> int:
        return sum(self.token_lengths)

    @property
    def padded_tokens(self) -> int:
        """Tokens the device computes: the row's full length."""
        return self.real_tokens + self.padding

    @property
    def padding_tokens(self) -> int:
        return self.padding

    @property
    def segments(self) -> tuple[int, ...]:
        """Lengths of the row's attention segments: each sequence, then the padding (if any)."""
        return (*self.token_lengths, self.padding) if self.padding else self.token_lengths

    @property
    def cu_seqlens(self) -> tuple[int, ...]:
        """Segment boundaries: ``0, s0, s0+s1, ..., padded_tokens`` (padding segment included)."""
        return (0, *accumulate(self.segments))

    @property
    def max_seqlen(self) -> int:
        return max(self.segments, default=0)

    @property
    def uniform_len(self) -> int | None:
        """The common length when every segment has the same length (no padding), else None.

        Such a row is an ordinary dense batch ``[sequences, uniform_len]`` and needs no mask.
        """
        if self.padding or not self.token_lengths:
            return None
        first = self.token_lengths[0]
        return first if all(n == first for n in self.token_lengths) else None

    @property
    def computed_segments(self) -> tuple[tuple[int, int], ...]:
        """``(count, tokens)`` of the sequences attention runs over: each segment on its own."""
        return tuple((1, n) for n in self.segments)


def fixed_batches(lengths: Sequence[int], batch_size: int, special: int) -> list[Batch]:
    """Consecutive groups of ``batch_size`` in file order, each padded to its longest."""
    _check_inputs(lengths, special)
    _check_positive("batch size", batch_size)
    return [
        _batch(range(start, min(start + batch_size, len(lengths))), lengths, special)
        for start in range(0, len(lengths), batch_size)
    ]


def token_budget_batches(lengths: Sequence[int], budget: int, special: int) -> list[Batch]:
    """Length-sorted batches holding at most ``budget`` padded tokens, as fair-esm forms them.

    Sequences are taken shortest first (ties in file order); one joins the open batch while
    ``longest_tokens * (rows + 1) <= budget``. A sequence longer than the budget runs alone.
    """
    _check_inputs(lengths, special)
    _check_positive("token budget", budget)
    batches: list[Batch] = []
    open_batch: list[int] = []
    longest = 0
    for index in sorted(range(len(lengths)), key=lambda i: (lengths[i], i)):
        tokens = lengths[index] + special
        if open_batch and max(longest, tokens) * (len(open_batch) + 1) > budget:
            batches.append(_batch(open_batch, lengths, special))
            open_batch, longest = [], 0
        open_batch.append(index)
        longest = max(longest, tokens)
    if open_batch:
        batches.append(_batch(open_batch, lengths, special))
    return batches


def bucket_batches(
    lengths: Sequence[int],
    batch_size: int,
    boundaries: Sequence[int],
    special: int,
    *,
    names: Sequence[str] | None = None,
) -> list[Batch]:
    """Batches of exactly ``batch_size`` rows padded to a bucket boundary (in tokens).

    Each sequence goes to the smallest boundary that holds its tokens; within a bucket, sequences
    keep file order and the last batch is filled with dummy rows, so every batch has one of
    ``len(boundaries)`` shapes (what compiled or traced backends need). Buckets come out smallest
    first. A sequence longer than the largest boundary raises ``InvalidInputError`` naming it
    (from ``names`` when given, else by its index).
    """
    _check_inputs(lengths, special)
    _check_positive("batch size", batch_size)
    bounds = _check_boundaries(boundaries)
    members: list[list[int]] = [[] for _ in bounds]
    for index, length in enumerate(lengths):
        tokens = length + special
        slot = bisect_left(bounds, tokens)
        if slot == len(bounds):
            who = f"'{names[index]}'" if names is not None else f"at index {index}"
            raise InvalidInputError(
                f"sequence {who} has {length} residues ({tokens} tokens), more than the largest "
                f"bucket ({bounds[-1]} tokens); add a larger bucket or truncate the sequences"
            )
        members[slot].append(index)
    batches: list[Batch] = []
    for bound, indices in zip(bounds, members, strict=True):
        for start in range(0, len(indices), batch_size):
            chunk = indices[start : start + batch_size]
            batches.append(_batch(chunk, lengths, special, padded_len=bound, rows=batch_size))
    return batches


def parse_buckets(text: str) -> tuple[int, ...]:
    """Parse ``"64,128,256"`` into sorted, unique, positive token lengths."""
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise InvalidInputError(
            f"malformed bucket list {text!r}: give comma-separated token lengths, e.g. 64,128,256"
        )
    values: list[int] = []
    for item in items:
        try:
            value = int(item)
        except ValueError:
            raise InvalidInputError(
                f"malformed bucket list {text!r}: {item!r} is not a whole number"
            ) from None
        if value <= 0:
            raise InvalidInputError(f"malformed bucket list {text!r}: {value} is not positive")
        values.append(value)
    return tuple(sorted(set(values)))


def _batch(
    indices: Sequence[int],
    lengths: Sequence[int],
    special: int,
    *,
    padded_len: int | None = None,
    rows: int | None = None,
) -> Batch:
    residues = sum(lengths[i] for i in indices)
    longest = max((lengths[i] + special for i in indices), default=0)
    return Batch(
        indices=tuple(indices),
        padded_len=longest if padded_len is None else padded_len,
        rows=len(indices) if rows is None else rows,
        residues=residues,
        real_tokens=residues + special * len(indices),
    )


def _check_positive(what: str, value: int) -> None:
    if value <= 0:
        raise InvalidInputError(f"{what} must be a positive whole number, got {value}")


def _check_inputs(lengths: Sequence[int], special: int) -> None:
    if special < 0:
        raise ValueError(f"special token count must be >= 0, got {special}")
    negative = next((length for length in lengths if length < 0), None)
    if negative is not None:
        raise ValueError(f"sequence lengths must be >= 0, got {negative}")


def _check_boundaries(boundaries: Sequence[int]) -> tuple[int, ...]:
    if not boundaries:
        raise InvalidInputError("bucket list is empty; give token lengths, e.g. 64,128,256")
    bad = [b for b in boundaries if b <= 0]
    if bad:
        raise InvalidInputError(f"bucket boundaries must be positive, got {bad[0]}")
    return tuple(sorted(set(boundaries)))
