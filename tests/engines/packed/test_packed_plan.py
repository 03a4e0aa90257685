"""Pack planning: first-fit-decreasing rows, the budget, and each row's per-token metadata."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
import torch

from engines.errors import InvalidInputError
from engines.packed.pack import PackedBatch, plan_packing, row_layout, summarize


def naive_ffd(tokens: Sequence[int], capacity: int) -> list[list[int]]:
    """First-fit-decreasing written the obvious O(n·rows) way, as the oracle."""
    rows: list[list[int]] = []
    used: list[int] = []
    for index in sorted(range(len(tokens)), key=lambda i: (-tokens[i], i)):
        need = tokens[index]
        for row, total in enumerate(used):
            if need <= capacity and total + need <= capacity:
                rows[row].append(index)
                used[row] += need
                break
        else:
            rows.append([index])
            used.append(need)
    return rows


def test_small_example_first_fit_decreasing() -> None:
    # tokens (special 2): 12, 52, 22, 32, 7 -> sorted 52, 32, 22, 12, 7 into rows of 60
    batches = plan_packing([10, 50, 20, 30, 5], budget=60, special=2)
    assert [b.indices for b in batches] == [(1, 4), (3, 2), (0,)]
    assert [b.token_lengths for b in batches] == [(52, 7), (32, 22), (12,)]
    assert [b.real_tokens for b in batches] == [59, 54, 12]
    assert [b.residues for b in batches] == [55, 50, 10]
    assert all(b.padding == 0 for b in batches)
    assert batches[0].cu_seqlens == (0, 52, 59)
    assert batches[0].max_seqlen == 52


@pytest.mark.parametrize("seed", range(40))
def test_invariants_on_random_inputs(seed: int) -> None:
    rng = random.Random(seed)
    count = rng.randint(0, 300)
    lengths = [rng.randint(0, 1100) for _ in range(count)]
    special = rng.choice([0, 1, 2])
    lengths = [max(n, 1 - special) for n in lengths]  # no sequence of 0 tokens
    budget = rng.choice([64, 500, 1024, 4096, 65_536])
    multiple = rng.choice([1, 8, 64, 128])
    batches = plan_packing(lengths, budget, special, pad_multiple=multiple)
    placed = [i for b in batches for i in b.indices]
    assert sorted(placed) == list(range(count)), "every sequence exactly once"
    capacity = budget - budget % multiple
    for b in batches:
        assert b.token_lengths == tuple(lengths[i] + special for i in b.indices)
        assert b.residues == sum(lengths[i] for i in b.indices)
        assert b.padded_tokens % multiple == 0
        assert 0 <= b.padding < multiple
        if b.sequences > 1 or b.real_tokens <= capacity:
            assert b.padded_tokens <= budget, "budget never exceeded"
        else:
            assert b.sequences == 1, "an over-budget sequence runs alone"
        assert list(b.token_lengths) == sorted(b.token_lengths, reverse=True)
        cu = b.cu_seqlens
        assert cu[0] == 0 and cu[-1] == b.padded_tokens
        assert [cu[i + 1] - cu[i] for i in range(len(cu) - 1)] == list(b.segments)
    tokens = [n + special for n in lengths]
    assert [list(b.indices) for b in batches] == naive_ffd(tokens, capacity)
    summary = summarize(batches, budget)
    assert summary.sequences == count
    assert summary.real_tokens == sum(tokens)
    assert summary.computed_tokens == sum(b.padded_tokens for b in batches)
    assert summary.computed_tokens - summary.real_tokens == sum(b.padding for b in batches)


def test_oversize_sequence_runs_alone_and_padding() -> None:
    batches = plan_packing([10, 300, 20], budget=100, special=2, pad_multiple=16)
    assert [b.indices for b in batches] == [(1,), (2, 0)]
    assert batches[0].padded_tokens == 304 and batches[0].padding == 2
    assert batches[1].real_tokens == 34 and batches[1].padded_tokens == 48
    assert batches[1].segments == (22, 12, 14)


def test_padding_counts_against_the_budget() -> None:
    # 3 x 30 tokens = 90 <= 100, but padded to a multiple of 64 it would be 128 > 100
    batches = plan_packing([28, 28, 28], budget=100, special=2, pad_multiple=64)
    assert all(b.padded_tokens <= 100 for b in batches)
    assert [b.sequences for b in batches] == [2, 1]


def test_uniform_rows_and_computed_segments() -> None:
    batches = plan_packing([510] * 4, budget=2048, special=2)
    assert len(batches) == 1 and batches[0].uniform_len == 512
    assert batches[0].computed_segments == ((1, 512),) * 4
    assert sum(n * t * t for n, t in batches[0].computed_segments) == 4 * 512 * 512
    mixed = plan_packing([510, 100], budget=2048, special=2)[0]
    assert mixed.uniform_len is None
    padded = plan_packing([510, 510], budget=2048, special=2, pad_multiple=100)[0]
    assert padded.uniform_len is None  # the padding segment breaks uniformity


def test_empty_and_invalid() -> None:
    assert plan_packing([], 100, 2) == []
    with pytest.raises(InvalidInputError, match="token budget"):
        plan_packing([1], 0, 2)
    with pytest.raises(InvalidInputError, match="pad multiple"):
        plan_packing([1], 10, 2, pad_multiple=0)
    with pytest.raises(ValueError, match="lengths"):
        plan_packing([-1], 10, 2)
    with pytest.raises(ValueError, match="0 tokens"):
        plan_packing([0], 10, 0)
    with pytest.raises(ValueError):
        PackedBatch(indices=(0,), token_lengths=(1,), special=2)


@pytest.mark.parametrize("leading", [0, 1])
def test_row_layout(leading: int) -> None:
    batch = PackedBatch(indices=(4, 2), token_lengths=(5, 3), special=2, padding=4)
    layout = row_layout(batch, leading_special=leading)
    assert layout.position_ids.tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 0, 0, 0, 0]
    assert layout.document_ids.tolist() == [0] * 5 + [1] * 3 + [2] * 4
    assert layout.document_ids.dtype == torch.int32
    assert layout.cu_seqlens.tolist() == [0, 5, 8, 12]
    assert layout.cu_seqlens.dtype == torch.int32
    assert layout.residue_counts.tolist() == [3.0, 1.0]
    dump = 2
    if leading:  # <cls> r r r <eos> | <cls> r <eos> | pad x4
        expected = [dump, 0, 0, 0, dump, dump, 1, dump] + [dump] * 4
    else:  # r r r <x> <y> | r <x> <y> (two trailing specials)
        expected = [0, 0, 0, dump, dump, 1, dump, dump] + [dump] * 4
    assert layout.pool_index.tolist() == expected
