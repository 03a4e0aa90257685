"""Workloads: synthetic sequences, named length distributions, the pyhmmer proteome, truncation."""

import statistics
import sys
from collections import Counter

import pytest

from engines import workloads
from engines.errors import InvalidInputError
from engines.sequences import STANDARD_RESIDUES, Protein
from engines.workloads import (
    Truncation,
    from_distribution,
    proteome_fasta_path,
    synthetic,
    truncate,
)


def lengths(proteins: list[Protein]) -> list[int]:
    return [p.length for p in proteins]


def test_synthetic_shape_names_and_alphabet() -> None:
    proteins = synthetic(50, 4, seed=1)
    assert [p.name for p in proteins] == [
        "synthetic_0",
        "synthetic_1",
        "synthetic_2",
        "synthetic_3",
    ]
    assert lengths(proteins) == [50] * 4
    assert set("".join(p.sequence for p in proteins)) <= set(STANDARD_RESIDUES)
    assert len({p.sequence for p in proteins}) == 4


def test_synthetic_is_deterministic_per_seed() -> None:
    assert synthetic(30, 3, seed=7) == synthetic(30, 3, seed=7)
    assert synthetic(30, 3, seed=7) != synthetic(30, 3, seed=8)


def test_synthetic_uses_all_standard_residues_roughly_evenly() -> None:
    counts = Counter("".join(p.sequence for p in synthetic(1000, 20, seed=0)))
    assert set(counts) == set(STANDARD_RESIDUES)
    assert all(900 <= n <= 1100 for n in counts.values())  # 1000 expected each


@pytest.mark.parametrize(("seq_len", "count"), [(0, 1), (-3, 1), (10, 0), (10, -1)])
def test_synthetic_rejects_non_positive(seq_len: int, count: int) -> None:
    with pytest.raises(InvalidInputError, match="must be a positive whole number"):
        synthetic(seq_len, count, seed=0)


def test_fixed_matches_synthetic_and_defaults_to_256() -> None:
    assert from_distribution("fixed:64", 5, seed=3) == synthetic(64, 5, seed=3)
    proteins = from_distribution("FIXED: 12", None, seed=0)
    assert lengths(proteins) == [12] * 256


def test_uniform_is_inclusive_and_deterministic() -> None:
    proteins = from_distribution("uniform:3-5", 300, seed=0)
    assert set(lengths(proteins)) == {3, 4, 5}
    assert proteins == from_distribution("uniform:3-5", 300, seed=0)
    assert lengths(from_distribution("uniform:7-7", 4, seed=0)) == [7, 7, 7, 7]


def test_uniref50_like_shape() -> None:
    found = lengths(from_distribution("uniref50-like", 5000, seed=0))
    assert min(found) >= 30
    assert max(found) == 1022  # about 1.5% of a log-normal(280, 0.6) lies above 1022: clipped
    assert 1022 in found
    assert 265 <= statistics.median(found) <= 295
    assert len(from_distribution("uniref50-like", None, seed=0)) == 256


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "fixed",
        "fixed:",
        "fixed:abc",
        "uniform:5",
        "uniform:a-b",
        "uniform:-5",
        "gaussian",
        "uniref50-like:3",
        "proteome:10",
    ],
)
def test_malformed_specs(spec: str) -> None:
    with pytest.raises(InvalidInputError, match=r"distribution") as caught:
        from_distribution(spec, 10, seed=0)
    assert repr(spec) in str(caught.value)


@pytest.mark.parametrize("spec", ["fixed:0", "fixed:-4"])
def test_fixed_length_must_be_positive(spec: str) -> None:
    with pytest.raises(InvalidInputError, match="fixed length must be a positive whole number"):
        from_distribution(spec, 10, seed=0)


def test_uniform_bounds_must_be_ordered() -> None:
    with pytest.raises(InvalidInputError, match=r"need 1 <= A <= B"):
        from_distribution("uniform:9-3", 10, seed=0)
    with pytest.raises(InvalidInputError, match=r"need 1 <= A <= B"):
        from_distribution("uniform:0-3", 10, seed=0)


def test_count_must_be_positive() -> None:
    with pytest.raises(InvalidInputError, match="sequence count must be a positive"):
        from_distribution("fixed:10", 0, seed=0)


def test_proteome_without_pyhmmer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyhmmer", None)  # makes `import pyhmmer` fail
    workloads.proteome_lengths.cache_clear()
    with pytest.raises(InvalidInputError, match=r"pip install 'plmprof\[bench\]'"):
        proteome_fasta_path()
    with pytest.raises(InvalidInputError, match=r"needs the pyhmmer package"):
        from_distribution("proteome", None, seed=0)
    workloads.proteome_lengths.cache_clear()


def test_proteome_lengths_match_the_shipped_file() -> None:
    pytest.importorskip("pyhmmer")
    path = proteome_fasta_path()
    assert path.name == "938293.PRJEB85.HG003687.faa"
    assert path.is_file()
    found = workloads.proteome_lengths()
    ordered = sorted(found)
    assert len(found) == 2100
    assert (ordered[0], ordered[-1]) == (32, 4559)
    assert statistics.median_low(found) == 276
    assert sum(1 for n in found if n > 1022) == 28


def test_proteome_workload_order_and_sampling() -> None:
    pytest.importorskip("pyhmmer")
    every = from_distribution("proteome", None, seed=0)
    assert lengths(every) == list(workloads.proteome_lengths())
    assert every[0].name == "synthetic_0"
    sampled = from_distribution("proteome", 500, seed=2)
    assert len(sampled) == 500
    assert set(lengths(sampled)) <= set(workloads.proteome_lengths())
    assert len(set(lengths(sampled))) > 100
    assert sampled == from_distribution("proteome", 500, seed=2)


def test_truncate_cuts_and_counts() -> None:
    proteins = [Protein("a", "MKT"), Protein("b", "MKTAG"), Protein("c", "MKTAGVLEAC")]
    kept, report = truncate(proteins, 4)
    assert kept == [Protein("a", "MKT"), Protein("b", "MKTA"), Protein("c", "MKTA")]
    assert report == Truncation(count=2, max_residues=4, longest=10)
    assert report.truncated


def test_truncate_at_exact_length_is_a_no_op() -> None:
    proteins = [Protein("a", "MKTA")]
    kept, report = truncate(proteins, 4)
    assert kept == proteins
    assert report == Truncation(count=0, max_residues=4, longest=4)
    assert not report.truncated


def test_truncate_without_limit() -> None:
    proteins = [Protein("a", "MK"), Protein("b", "MKTAG")]
    kept, report = truncate(proteins, None)
    assert kept == proteins
    assert report == Truncation(count=0, max_residues=5, longest=5)
    assert truncate([], None)[1] == Truncation(count=0, max_residues=0, longest=0)


def test_truncate_rejects_non_positive_limit() -> None:
    with pytest.raises(InvalidInputError, match="maximum residues must be a positive"):
        truncate([Protein("a", "MK")], 0)
