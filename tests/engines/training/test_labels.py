"""Labels files and FASTA header labels: matched both ways, with a clear error for each fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from engines.errors import InvalidInputError
from engines.sequences import Protein
from engines.training.labels import load_labels, read_header_labels, read_label_file
from tests.engines.training.conftest import write_labels

PROTEINS = [Protein("a", "MKT"), Protein("b", "MEE"), Protein("c", "MKK")]


def test_csv_and_tsv_with_or_without_header(tmp_path: Path) -> None:
    csv = write_labels(tmp_path / "l.csv", [("a", "x"), ("b", "y")])
    assert read_label_file(csv) == {"a": "x", "b": "y"}
    tsv = tmp_path / "l.tsv"
    tsv.write_text("a\tx\nb\ty\n")
    assert read_label_file(tsv) == {"a": "x", "b": "y"}


def test_header_labels(tmp_path: Path) -> None:
    fasta = tmp_path / "s.fasta"
    fasta.write_text(">a label=x desc\nMKT\n>b other\nMEE\n")
    assert read_header_labels(fasta) == {"a": "x"}


def test_classes_are_indexed_in_sorted_order(tmp_path: Path) -> None:
    path = write_labels(tmp_path / "l.csv", [("a", "soluble"), ("b", "membrane"), ("c", "soluble")])
    labels = load_labels(PROTEINS, "classify", str(path), None, 0)
    assert labels is not None and labels.measured
    assert labels.classes == ("membrane", "soluble")
    assert labels.per_protein == ((1,), (0,), (1,))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("a", "x"), ("b", "y")], "no label for 1 FASTA record(s): 'c'"),
        ([("a", "x"), ("b", "y"), ("c", "x"), ("zz", "y")], "not in the FASTA: 'zz'"),
        ([("a", "x"), ("b", "x"), ("c", "x")], "every label is 'x'"),
    ],
)
def test_mismatches_and_one_class_are_refused(tmp_path: Path, rows, message) -> None:
    path = write_labels(tmp_path / "l.csv", rows)
    with pytest.raises(
        InvalidInputError, match="labels file .*" + message.replace("(", r"\(").replace(")", r"\)")
    ):
        load_labels(PROTEINS, "classify", str(path), None, 0)


def test_per_residue_label_of_wrong_length(tmp_path: Path) -> None:
    path = write_labels(tmp_path / "l.csv", [("a", "HHC"), ("b", "CCCC"), ("c", "HEC")])
    with pytest.raises(InvalidInputError, match="'b' has 3 residues but its per-residue label"):
        load_labels(PROTEINS, "token-classify", str(path), None, 0)


def test_random_labels_are_marked_unmeasured() -> None:
    labels = load_labels(PROTEINS, "token-classify", None, None, 0)
    assert labels is not None and not labels.measured
    assert [len(p) for p in labels.per_protein] == [3, 3, 3]
    assert load_labels(PROTEINS, "mlm", None, None, 0) is None
