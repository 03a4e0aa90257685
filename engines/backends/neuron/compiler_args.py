"""The ``neuronx-cc`` flags one compilation uses, always spelt out in full.

Neuron 2.27 changed the default of ``--auto-cast`` from ``matmult`` to ``none``, so nothing here
relies on a compiler default: every flag that changes numerics or speed is passed explicitly.
"""

from __future__ import annotations

from engines.errors import InvalidInputError
from engines.spec import NEURON_OPTLEVELS, NEURON_TARGETS, RunSpec

# plmprof precision -> (--auto-cast, --auto-cast-type or None). fp32 casts nothing; bf16 is what
# AWS publishes its encoder numbers with; fp16 casts the same operators to fp16.
AUTO_CAST: dict[str, tuple[str, str | None]] = {
    "fp32": ("none", None),
    "bf16": ("matmult", "bf16"),
    "fp16": ("matmult", "fp16"),
}
MODEL_TYPE = "transformer"


def compiler_args(target: str, dtype: str, optlevel: int = 2) -> list[str]:
    """``neuronx-cc`` arguments for ``target`` (inf2, trn1, trn1n, trn2), precision ``dtype``
    (fp32, bf16, fp16) and ``optlevel`` (1-3), in a fixed order."""
    if target not in NEURON_TARGETS:
        raise InvalidInputError(
            f"Neuron target '{target}' is not one of {', '.join(NEURON_TARGETS)}"
        )
    if dtype not in AUTO_CAST:
        raise InvalidInputError(f"dtype '{dtype}' is not one of {', '.join(AUTO_CAST)}")
    if optlevel not in NEURON_OPTLEVELS:
        raise InvalidInputError(f"Neuron optlevel must be 1, 2 or 3 (got {optlevel})")
    cast, cast_type = AUTO_CAST[dtype]
    args = ["--target", target, "--model-type", MODEL_TYPE, "--auto-cast", cast]
    if cast_type is not None:
        args += ["--auto-cast-type", cast_type]
    return [*args, "--optlevel", str(optlevel)]


def compiler_args_for(spec: RunSpec) -> list[str]:
    """The flags a run compiles with: its Neuron target, dtype and optlevel."""
    return compiler_args(spec.neuron_target, spec.dtype, spec.neuron_optlevel)


def describe_precision(dtype: str) -> str:
    """One line saying how ``dtype`` is realised on Neuron (for run notes)."""
    cast, cast_type = AUTO_CAST[dtype]
    if cast_type is None:
        return "Neuron precision: fp32 weights, --auto-cast none"
    return (
        f"Neuron precision: fp32 weights traced, neuronx-cc casts matmuls to {cast_type} "
        f"(--auto-cast {cast} --auto-cast-type {cast_type})"
    )
