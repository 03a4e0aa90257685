"""Plan packed rows: several sequences laid end to end in one token stream, up to a token budget.

Packing removes padding: instead of padding every sequence of a batch to the longest, sequences are
concatenated into one row (a flat stream of tokens) and attention is restricted to each sequence
(see :mod:`engines.packed.esm_packed`). Rows are filled first-fit-decreasing: sequences longest
first (ties in file order), each into the first row that still has room for it.

Sizes: ``lengths`` are residue counts, ``special`` the tokenizer's special tokens per sequence, and
everything else is in tokens. ``pad_multiple`` rounds each row's length up to a multiple (fewer
distinct shapes for ``torch.compile``); the pad tokens form one extra segment of their own that
attends only to itself and carries no residues.

A row never holds more than ``budget`` tokens, padding included. The one exception, as in
:func:`engines.batching.token_budget_batches`, is a single sequence longer than the budget: it
runs alone in a row of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engines.batching import PackedBatch
from engines.errors import InvalidInputError

if TYPE_CHECKING:  # planning needs no torch; only the row layout's tensors do
    import torch


@dataclass(frozen=True)
class PackingSummary:
    """What a packing plan costs: real tokens against tokens computed and row capacity."""

    rows: int
    sequences: int
    residues: int
    real_tokens: int
    computed_tokens: int
    capacity_tokens: int  # rows x budget

    @property
    def padding_fraction(self) -> float:
        """Share of computed tokens that are padding."""
        return 1 - self.real_tokens / self.computed_tokens if self.computed_tokens else 0.0

    @property
    def fill(self) -> float:
        """Share of the rows' capacity holding real tokens."""
        return self.real_tokens / self.capacity_tokens if self.capacity_tokens else 0.0


class _FirstFit:
    """Rows with remaining room; finds the leftmost row with room >= n in O(log rows).

    A max segment tree over the rows' remaining capacity, grown by doubling.
    """

    def __init__(self) -> None:
        self._size = 1
        self._tree = [-1, -1]  # leaves start at index ``_size``; -1 marks "no row"
        self.count = 0

    def _grow(self) -> None:
        leaves = self._tree[self._size :]
        self._size *= 2
        self._tree = [-1] * (2 * self._size)
        self._tree[self._size : self._size + len(leaves)] = leaves
        for node in range(self._size - 1, 0, -1):
            self._tree[node] = max(self._tree[2 * node], self._tree[2 * node + 1])

    def _set(self, row: int, room: int) -> None:
        node = row + self._size
        self._tree[node] = room
        node //= 2
        while node:
            self._tree[node] = max(self._tree[2 * node], self._tree[2 * node + 1])
            node //= 2

    def add(self, room: int) -> int:
        if self.count == self._size:
            self._grow()
        row = self.count
        self.count += 1
        self._set(row, room)
        return row

    def find(self, need: int) -> int | None:
        if self._tree[1] < need:
            return None
        node = 1
        while node < self._size:
            node = 2 * node if self._tree[2 * node] >= need else 2 * node + 1
        return node - self._size

    def take(self, row: int, amount: int) -> None:
        self._set(row, self._tree[row + self._size] - amount)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def plan_packing(
    lengths: Sequence[int], budget: int, special: int, *, pad_multiple: int = 1
) -> list[PackedBatch]:
    """Pack sequences of ``lengths`` residues into rows of at most ``budget`` tokens.

    First-fit-decreasing. Rows come out in the order they were opened (the row holding the longest
    sequence first); within a row, sequences are in the order they were placed (longest first).
    Every sequence appears exactly once. Each row is padded up to a multiple of ``pad_multiple``.
    """
    if special < 0:
        raise ValueError(f"special token count must be >= 0, got {special}")
    if budget <= 0:
        raise InvalidInputError(f"token budget must be a positive whole number, got {budget}")
    if pad_multiple <= 0:
        raise InvalidInputError(f"pad multiple must be a positive whole number, got {pad_multiple}")
    if any(n < 0 for n in lengths):
        raise ValueError("sequence lengths must be >= 0")
    tokens = [n + special for n in lengths]
    if any(t == 0 for t in tokens):
        raise ValueError("a sequence of 0 tokens cannot be packed (0 residues and no specials)")
    # Room is counted against the largest multiple of pad_multiple within the budget, so that the
    # padded row still fits.
    capacity = budget - budget % pad_multiple
    rows: list[list[int]] = []
    used: list[int] = []
    fit = _FirstFit()
    for index in sorted(range(len(tokens)), key=lambda i: (-tokens[i], i)):
        need = tokens[index]
        row = fit.find(need) if need <= capacity else None
        if row is None:
            row = fit.add(capacity - need if need <= capacity else -1)
            rows.append([index])
            used.append(need)
            continue
        fit.take(row, need)
        rows[row].append(index)
        used[row] += need
    return [
        PackedBatch(
            indices=tuple(members),
            token_lengths=tuple(tokens[i] for i in members),
            special=special,
            padding=_round_up(total, pad_multiple) - total,
        )
        for members, total in zip(rows, used, strict=True)
    ]


def summarize(batches: Sequence[PackedBatch], budget: int) -> PackingSummary:
    return PackingSummary(
        rows=len(batches),
        sequences=sum(b.sequences for b in batches),
        residues=sum(b.residues for b in batches),
        real_tokens=sum(b.real_tokens for b in batches),
        computed_tokens=sum(b.padded_tokens for b in batches),
        capacity_tokens=sum(max(budget, b.padded_tokens) for b in batches),
    )


@dataclass(frozen=True)
class RowLayout:
    """Per-token metadata of one packed row (host tensors).

    ``position_ids`` restart at 0 in every segment; ``document_ids`` number the segments 0, 1, …
    (the padding segment, if any, is the last); ``cu_seqlens`` (int32) are the segment boundaries;
    ``pool_index`` maps each residue token to its sequence's row position and every other token
    (special tokens, padding) to ``sequences``, a slot that pooling drops.
    """

    position_ids: torch.Tensor
    document_ids: torch.Tensor
    cu_seqlens: torch.Tensor
    pool_index: torch.Tensor
    residue_counts: torch.Tensor


def row_layout(batch: PackedBatch, leading_special: int) -> RowLayout:
    """The row's per-token metadata; ``leading_special`` special tokens precede each sequence's
    residues (1 for ``<cls>``/``[CLS]``, 0 for T5-style tokenizers)."""
    import torch

    segments = torch.tensor(batch.segments, dtype=torch.int64)
    total = batch.padded_tokens
    cu = torch.zeros(len(batch.segments) + 1, dtype=torch.int64)
    torch.cumsum(segments, 0, out=cu[1:])
    documents = torch.repeat_interleave(torch.arange(len(batch.segments)), segments)
    positions = torch.arange(total) - cu[:-1][documents]
    residues = torch.tensor(batch.residue_lengths, dtype=torch.int64)
    n = batch.sequences
    is_residue = (positions >= leading_special) & (documents < n)
    if n:
        is_residue &= positions < leading_special + residues[documents.clamp(max=n - 1)]
    pool_index = torch.where(is_residue, documents, torch.full_like(documents, n))
    if batch.padding:
        positions[-batch.padding :] = 0
    return RowLayout(
        position_ids=positions,
        document_ids=documents.to(torch.int32),
        cu_seqlens=cu.to(torch.int32),
        pool_index=pool_index,
        residue_counts=residues.to(torch.float32),
    )
