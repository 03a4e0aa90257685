"""neuronx-cc flags: literal lists per precision, target and optlevel; the RunSpec fields."""

from __future__ import annotations

import pytest

from engines.backends.neuron.compiler_args import compiler_args, compiler_args_for
from engines.errors import InvalidInputError
from engines.spec import RunSpec


def test_fp32_casts_nothing() -> None:
    assert compiler_args("inf2", "fp32") == [
        "--target",
        "inf2",
        "--model-type",
        "transformer",
        "--auto-cast",
        "none",
        "--optlevel",
        "2",
    ]


def test_bf16_casts_matmuls_to_bf16() -> None:
    assert compiler_args("trn1", "bf16", 3) == [
        "--target",
        "trn1",
        "--model-type",
        "transformer",
        "--auto-cast",
        "matmult",
        "--auto-cast-type",
        "bf16",
        "--optlevel",
        "3",
    ]


def test_fp16_casts_matmuls_to_fp16() -> None:
    assert compiler_args("trn2", "fp16", 1) == [
        "--target",
        "trn2",
        "--model-type",
        "transformer",
        "--auto-cast",
        "matmult",
        "--auto-cast-type",
        "fp16",
        "--optlevel",
        "1",
    ]


def test_trn1n_target_is_passed_through() -> None:
    assert compiler_args("trn1n", "fp32")[:2] == ["--target", "trn1n"]


def test_flags_come_from_the_run_spec() -> None:
    spec = RunSpec(device="neuron", dtype="bf16", neuron_target="trn1", neuron_optlevel=1)
    assert compiler_args_for(spec) == [
        "--target",
        "trn1",
        "--model-type",
        "transformer",
        "--auto-cast",
        "matmult",
        "--auto-cast-type",
        "bf16",
        "--optlevel",
        "1",
    ]


def test_spec_defaults_compile_for_inf2_at_optlevel_2() -> None:
    spec = RunSpec(device="neuron")
    assert (spec.neuron_target, spec.neuron_optlevel, spec.neuron_data_parallel) == (
        "inf2",
        2,
        False,
    )
    assert compiler_args_for(spec)[:2] == ["--target", "inf2"]
    assert compiler_args_for(spec)[-2:] == ["--optlevel", "2"]


@pytest.mark.parametrize(
    ("target", "dtype", "optlevel", "words"),
    [
        ("inf1", "fp32", 2, "Neuron target 'inf1'"),
        ("inf2", "fp8", 2, "dtype 'fp8'"),
        ("inf2", "fp32", 4, "optlevel must be 1, 2 or 3"),
        ("inf2", "fp32", 0, "optlevel must be 1, 2 or 3"),
    ],
)
def test_bad_values_are_clear_errors(target: str, dtype: str, optlevel: int, words: str) -> None:
    with pytest.raises(InvalidInputError, match=words):
        compiler_args(target, dtype, optlevel)


def test_run_spec_validates_neuron_fields() -> None:
    with pytest.raises(InvalidInputError, match="Neuron target 'inf1' is not one of"):
        RunSpec(neuron_target="inf1")
    with pytest.raises(InvalidInputError, match="optlevel must be 1, 2 or 3"):
        RunSpec(neuron_optlevel=5)


def test_run_spec_neuron_fields_round_trip() -> None:
    spec = RunSpec(
        device="neuron:1", neuron_target="trn1n", neuron_optlevel=3, neuron_data_parallel=True
    )
    assert RunSpec.from_dict(spec.to_dict()) == spec
