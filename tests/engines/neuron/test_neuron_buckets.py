"""Bucket planning: default boundaries, fixed shapes per batch, what Neuron cannot bucket."""

from __future__ import annotations

import pytest

from engines.backends.neuron.buckets import (
    BucketShape,
    bucket_shapes,
    default_buckets,
    plan_neuron_workload,
    window_tokens,
)
from engines.batching import Batch
from engines.catalog import get_model_info
from engines.errors import InvalidInputError, UnsupportedError
from engines.spec import RunSpec


@pytest.mark.parametrize(
    ("longest", "window", "expected"),
    [
        (30, 1024, (64,)),
        (64, 1024, (64,)),
        (65, 1024, (64, 128)),
        (200, 1024, (64, 128, 256)),
        (1024, 1024, (64, 128, 256, 512, 1024)),
        (5000, None, (64, 128, 256, 512, 1024, 2048, 4096, 8192)),
        (39_000, 40_000, (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 40_000)),
        (40, 50, (50,)),
    ],
)
def test_default_buckets_powers_of_two_capped(
    longest: int, window: int | None, expected: tuple[int, ...]
) -> None:
    assert default_buckets(longest, window) == expected


def test_default_buckets_reject_a_sequence_longer_than_the_window() -> None:
    with pytest.raises(InvalidInputError, match="more than the model's window of 1024"):
        default_buckets(1025, 1024)


def test_window_in_tokens() -> None:
    assert window_tokens(get_model_info("esm2_t6_8M"), 2) == 1024
    assert window_tokens(get_model_info("prot_t5_xl_enc"), 1) is None


def test_plan_fills_default_buckets_and_fixes_every_shape() -> None:
    spec = RunSpec(
        device="neuron", seq_len=None, lengths="uniform:20-300", num_sequences=30, batch_size=4
    )
    bucketed, planned = plan_neuron_workload(spec, get_model_info("esm2_t6_8M"))
    longest = max(len(p.sequence) for p in planned.proteins) + 2
    assert bucketed.buckets == default_buckets(longest, 1024)
    assert bucketed.buckets[0] == 64
    assert all(b.rows == 4 for b in planned.batches)
    assert {b.padded_len for b in planned.batches} <= set(bucketed.buckets)
    for batch in planned.batches:
        for index in batch.indices:
            tokens = len(planned.proteins[index].sequence) + 2
            smaller = [b for b in bucketed.buckets if b < batch.padded_len]
            assert tokens <= batch.padded_len
            assert all(tokens > b for b in smaller)  # the smallest bucket that holds it
    assert sum(b.sequences for b in planned.batches) == 30


def test_fixed_length_workload_gets_one_bucket_and_dummy_rows() -> None:
    spec = RunSpec(device="neuron", seq_len=100, num_sequences=5, batch_size=4)
    bucketed, planned = plan_neuron_workload(spec, get_model_info("esm2_t6_8M"))
    assert bucketed.buckets == (64, 128)
    assert [(b.rows, b.padded_len, b.sequences) for b in planned.batches] == [
        (4, 128, 4),
        (4, 128, 1),
    ]


def test_user_buckets_are_kept() -> None:
    spec = RunSpec(device="neuron", seq_len=100, num_sequences=4, buckets=(128, 512))
    bucketed, planned = plan_neuron_workload(spec, get_model_info("esm2_t6_8M"))
    assert bucketed is spec
    assert {b.padded_len for b in planned.batches} == {128}


def test_user_bucket_longer_than_the_window_is_rejected() -> None:
    spec = RunSpec(device="neuron", seq_len=100, buckets=(128, 2048))
    with pytest.raises(InvalidInputError, match="bucket 2048 is longer than the model's window"):
        plan_neuron_workload(spec, get_model_info("esm1b_t33_650M"))


def test_sequence_longer_than_every_user_bucket_is_named() -> None:
    spec = RunSpec(device="neuron", seq_len=300, buckets=(128,))
    with pytest.raises(InvalidInputError, match="more than the largest bucket"):
        plan_neuron_workload(spec, get_model_info("esm2_t6_8M"))


def test_token_budget_cannot_run_on_neuron() -> None:
    spec = RunSpec(device="neuron", token_budget=4096)
    with pytest.raises(UnsupportedError, match="--token-budget gives each batch its own shape"):
        plan_neuron_workload(spec, get_model_info("esm2_t6_8M"))


def test_bucket_shapes_are_distinct_and_sorted() -> None:
    def batch(rows: int, length: int) -> Batch:
        return Batch((0,), length, rows, 1, 3)

    shapes = bucket_shapes([batch(4, 256), batch(4, 64), batch(4, 256), batch(4, 128)])
    assert shapes == [BucketShape(4, 64), BucketShape(4, 128), BucketShape(4, 256)]
    assert shapes[0].label == "4x64"
