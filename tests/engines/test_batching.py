"""Batching: padded versus real tokens, length sorting, budgets and fixed bucket shapes."""

import random
from itertools import pairwise

import pytest

from engines.batching import (
    Batch,
    bucket_batches,
    fixed_batches,
    parse_buckets,
    token_budget_batches,
)
from engines.errors import InvalidInputError


def test_batch_token_accounting() -> None:
    batch = Batch(indices=(0, 1), padded_len=10, rows=4, residues=12, real_tokens=16)
    assert (batch.sequences, batch.dummy_rows) == (2, 2)
    assert (batch.padded_tokens, batch.padding_tokens) == (40, 24)


def test_fixed_batches_file_order_padded_to_longest() -> None:
    batches = fixed_batches([5, 3, 8, 2, 7], batch_size=2, special=2)
    assert [b.indices for b in batches] == [(0, 1), (2, 3), (4,)]
    assert [b.padded_len for b in batches] == [7, 10, 9]
    assert [b.rows for b in batches] == [2, 2, 1]
    assert [b.residues for b in batches] == [8, 10, 7]
    assert [b.real_tokens for b in batches] == [12, 14, 9]
    assert [b.padded_tokens for b in batches] == [14, 20, 9]
    assert [b.padding_tokens for b in batches] == [2, 6, 0]


def test_fixed_batches_empty_and_exact_multiple() -> None:
    assert fixed_batches([], 4, special=1) == []
    batches = fixed_batches([1, 2, 3, 4], 2, special=1)
    assert [b.indices for b in batches] == [(0, 1), (2, 3)]


def test_token_budget_sorted_and_greedy() -> None:
    batches = token_budget_batches([10, 50, 20, 30, 5], budget=100, special=2)
    assert [b.indices for b in batches] == [(4, 0, 2), (3,), (1,)]
    assert [b.padded_len for b in batches] == [22, 32, 52]
    assert [b.padded_tokens for b in batches] == [66, 32, 52]
    assert [b.real_tokens for b in batches] == [41, 32, 52]


def test_token_budget_exact_fit_is_allowed() -> None:
    batches = token_budget_batches([8, 8, 8, 8, 8], budget=40, special=2)
    assert [b.indices for b in batches] == [(0, 1, 2, 3), (4,)]
    assert batches[0].padded_tokens == 40


def test_token_budget_long_sequence_runs_alone() -> None:
    batches = token_budget_batches([10, 500, 20], budget=100, special=2)
    assert [b.indices for b in batches] == [(0, 2), (1,)]
    assert batches[1].padded_tokens == 502


def test_token_budget_properties_on_random_lengths() -> None:
    rng = random.Random(0)
    lengths = [rng.randint(1, 1500) for _ in range(400)]
    budget, special = 4096, 2
    batches = token_budget_batches(lengths, budget, special)
    flat = [i for b in batches for i in b.indices]
    assert sorted(flat) == list(range(400))
    assert [lengths[i] for i in flat] == sorted(lengths)
    for current, following in pairwise(batches):
        assert current.padded_tokens <= budget
        assert current.padded_len == max(lengths[i] for i in current.indices) + special
        next_tokens = lengths[following.indices[0]] + special
        assert max(current.padded_len, next_tokens) * (current.rows + 1) > budget  # greedy
    assert sum(b.real_tokens for b in batches) == sum(lengths) + special * 400
    assert sum(b.padded_tokens for b in batches) >= sum(b.real_tokens for b in batches)


def test_token_budget_ties_keep_file_order() -> None:
    batches = token_budget_batches([5, 5, 5], budget=1000, special=0)
    assert [b.indices for b in batches] == [(0, 1, 2)]


def test_bucket_batches_fixed_shapes_with_dummy_rows() -> None:
    batches = bucket_batches([10, 100, 60, 30, 200], 2, (64, 128, 256), special=2)
    assert [(b.indices, b.rows, b.padded_len) for b in batches] == [
        ((0, 2), 2, 64),
        ((3,), 2, 64),
        ((1,), 2, 128),
        ((4,), 2, 256),
    ]
    assert [b.dummy_rows for b in batches] == [0, 1, 1, 1]
    assert [b.real_tokens for b in batches] == [74, 32, 102, 202]
    assert [b.padded_tokens for b in batches] == [128, 128, 256, 512]


def test_bucket_boundary_is_inclusive_and_unsorted_boundaries_work() -> None:
    batches = bucket_batches([62, 63], 4, [128, 64, 64], special=2)
    assert [(b.indices, b.padded_len) for b in batches] == [((0,), 64), ((1,), 128)]


def test_bucket_too_long_names_the_sequence() -> None:
    with pytest.raises(InvalidInputError, match=r"'big' has 300 residues \(302 tokens\)"):
        bucket_batches([10, 300], 2, (64, 256), special=2, names=["small", "big"])
    with pytest.raises(InvalidInputError, match=r"at index 1 .*largest bucket \(256 tokens\)"):
        bucket_batches([10, 300], 2, (64, 256), special=2)


@pytest.mark.parametrize("boundaries", [(), (0, 64), (-64,)])
def test_bucket_bad_boundaries(boundaries: tuple[int, ...]) -> None:
    with pytest.raises(InvalidInputError, match="bucket"):
        bucket_batches([10], 2, boundaries, special=2)


@pytest.mark.parametrize("size", [0, -1])
def test_non_positive_sizes(size: int) -> None:
    with pytest.raises(InvalidInputError, match="batch size must be a positive"):
        fixed_batches([1, 2], size, special=2)
    with pytest.raises(InvalidInputError, match="token budget must be a positive"):
        token_budget_batches([1, 2], size, special=2)
    with pytest.raises(InvalidInputError, match="batch size must be a positive"):
        bucket_batches([1, 2], size, (64,), special=2)


def test_negative_lengths_or_special_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="lengths must be >= 0"):
        fixed_batches([3, -1], 2, special=2)
    with pytest.raises(ValueError, match="special token count"):
        token_budget_batches([3], 10, special=-1)


def test_parse_buckets() -> None:
    assert parse_buckets("64,128,256") == (64, 128, 256)
    assert parse_buckets(" 256, 64 ,64") == (64, 256)
    assert parse_buckets("512") == (512,)


@pytest.mark.parametrize("text", ["", "  ", "64,,128", "64,", "a,b", "0,64", "-5", "64.5"])
def test_parse_buckets_rejects(text: str) -> None:
    with pytest.raises(InvalidInputError, match="malformed bucket list"):
        parse_buckets(text)
