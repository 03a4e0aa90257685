"""Benchmark workloads: synthetic sequences with fixed or named length distributions, truncation.

Length presets (see the measurement reference): ``fixed:N``, ``uniform:A-B``, ``uniref50-like``
(log-normal, median 280, sigma 0.6, clipped to 30-1022) and ``proteome`` (the lengths of the real
bacterial proteome shipped in the ``pyhmmer`` wheel; needs the ``bench`` extra). Residues are
always synthetic: uniform over the 20 standard amino acids, deterministic for a seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np

from engines.errors import InvalidInputError
from engines.fasta import read_fasta
from engines.sequences import STANDARD_RESIDUES, Protein

DEFAULT_COUNT = 256
# Largest synthetic workload generated: about 1.5 GB of memory at the largest.
MAX_SEQUENCES = 1_000_000
MAX_RESIDUES = 100_000_000
UNIREF50_MEDIAN = 280
UNIREF50_SIGMA = 0.6
UNIREF50_MIN = 30
UNIREF50_MAX = 1022
PROTEOME_FILE = "938293.PRJEB85.HG003687.faa"
_BENCH_FIX = "install the benchmark extra: pip install 'plmprof[bench]'"
SPEC_HELP = "fixed:N, uniform:A-B, uniref50-like or proteome"

_ALPHABET = np.frombuffer(STANDARD_RESIDUES.encode("ascii"), dtype=np.uint8)


def synthetic(seq_len: int, count: int, seed: int) -> list[Protein]:
    """``count`` random sequences of ``seq_len`` standard residues, named ``synthetic_<i>``."""
    _check_positive("sequence length", seq_len)
    _check_positive("sequence count", count)
    _check_size(count, count * seq_len)
    return _random_proteins([seq_len] * count, np.random.default_rng(seed))


def from_distribution(spec: str, count: int | None, seed: int) -> list[Protein]:
    """Synthetic proteins whose lengths follow the named distribution ``spec``.

    ``count`` defaults to 256, except for ``proteome`` where ``None`` means every length of the
    file in file order (a given count samples its lengths with replacement). ``fixed:N`` gives
    the same proteins as ``synthetic(N, count, seed)``.
    """
    if count is not None:
        _check_positive("sequence count", count)
        _check_size(count, count)
    rng = np.random.default_rng(seed)
    name, _, argument = spec.strip().lower().partition(":")
    if name == "proteome" and not argument:
        all_lengths = proteome_lengths()
        if count is None:
            return _random_proteins(list(all_lengths), rng)
        picks = rng.integers(0, len(all_lengths), size=count)
        return _random_proteins([all_lengths[int(i)] for i in picks], rng)
    n = DEFAULT_COUNT if count is None else count
    if name == "fixed" and argument:
        length = _parse_int(argument, spec)
        _check_positive("fixed length", length)
        return _random_proteins([length] * n, rng)
    if name == "uniform" and argument:
        low, high = _parse_range(argument, spec)
        return _random_proteins([int(x) for x in rng.integers(low, high + 1, size=n)], rng)
    if name == "uniref50-like" and not argument:
        draws = rng.lognormal(math.log(UNIREF50_MEDIAN), UNIREF50_SIGMA, size=n)
        clipped = np.clip(np.rint(draws), UNIREF50_MIN, UNIREF50_MAX)
        return _random_proteins([int(x) for x in clipped], rng)
    raise InvalidInputError(f"unknown length distribution {spec!r}; use {SPEC_HELP}")


def proteome_fasta_path() -> Path:
    """The real proteome FASTA shipped in the ``pyhmmer`` wheel (the ``bench`` extra)."""
    try:
        package = files("pyhmmer")
    except ImportError:
        raise InvalidInputError(
            "the 'proteome' workload needs the pyhmmer package, which is not installed; "
            + _BENCH_FIX
        ) from None
    path = Path(str(package.joinpath("tests", "data", "seqs", PROTEOME_FILE)))
    if not path.is_file():
        raise InvalidInputError(
            f"the installed pyhmmer does not ship {PROTEOME_FILE} (looked at {path}); "
            f"reinstall it: pip install --force-reinstall 'plmprof[bench]'"
        )
    return path


@cache
def proteome_lengths() -> tuple[int, ...]:
    """Residue counts of the proteome's records in file order (trailing ``*`` removed)."""
    return tuple(protein.length for protein in read_fasta(proteome_fasta_path()))


@dataclass(frozen=True)
class Truncation:
    """What ``truncate`` did: ``count`` proteins were cut to ``max_residues``.

    ``longest`` is the longest input length before cutting. Without a limit, ``max_residues``
    equals ``longest`` and ``count`` is 0.
    """

    count: int
    max_residues: int
    longest: int

    @property
    def truncated(self) -> bool:
        return self.count > 0


def truncate(
    proteins: Sequence[Protein], max_residues: int | None
) -> tuple[list[Protein], Truncation]:
    """Cut every sequence longer than ``max_residues``; the returned count makes it visible."""
    longest = max((protein.length for protein in proteins), default=0)
    if max_residues is None:
        return list(proteins), Truncation(count=0, max_residues=longest, longest=longest)
    _check_positive("maximum residues", max_residues)
    kept: list[Protein] = []
    count = 0
    for protein in proteins:
        if protein.length > max_residues:
            count += 1
            kept.append(Protein(protein.name, protein.sequence[:max_residues]))
        else:
            kept.append(protein)
    return kept, Truncation(count=count, max_residues=max_residues, longest=longest)


def _random_proteins(lengths: Sequence[int], rng: np.random.Generator) -> list[Protein]:
    _check_size(len(lengths), sum(lengths))
    codes = _ALPHABET[rng.integers(0, len(_ALPHABET), size=sum(lengths))]
    text = codes.tobytes().decode("ascii")
    proteins: list[Protein] = []
    start = 0
    for index, length in enumerate(lengths):
        proteins.append(Protein(f"synthetic_{index}", text[start : start + length]))
        start += length
    return proteins


def _check_size(count: int, residues: int) -> None:
    """Refuse a synthetic workload too large to generate (it would exhaust memory first)."""
    if count > MAX_SEQUENCES or residues > MAX_RESIDUES:
        raise InvalidInputError(
            f"a synthetic workload of {count:,} sequences ({residues:,} residues) is more than "
            f"plmprof generates (at most {MAX_SEQUENCES:,} sequences, {MAX_RESIDUES:,} residues); "
            "lower --batch-size, --token-budget, --seq-len or --num-seqs (a run makes 4 batches)"
        )


def _check_positive(what: str, value: int) -> None:
    if value <= 0:
        raise InvalidInputError(f"{what} must be a positive whole number, got {value}")


def _parse_int(text: str, spec: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidInputError(
            f"malformed length distribution {spec!r}: {text.strip()!r} is not a whole number; "
            f"use {SPEC_HELP}"
        ) from None


def _parse_range(text: str, spec: str) -> tuple[int, int]:
    low_text, dash, high_text = text.partition("-")
    if not dash:
        raise InvalidInputError(
            f"malformed length distribution {spec!r}: expected uniform:A-B, e.g. uniform:50-500"
        )
    low, high = _parse_int(low_text, spec), _parse_int(high_text, spec)
    if not 1 <= low <= high:
        raise InvalidInputError(
            f"malformed length distribution {spec!r}: need 1 <= A <= B in uniform:A-B"
        )
    return low, high
