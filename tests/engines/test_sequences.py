"""clean_sequence: the single gate between raw residue text and a Protein."""

from dataclasses import FrozenInstanceError

import pytest

from engines.errors import InvalidInputError
from engines.sequences import (
    AMBIGUOUS_RESIDUES,
    STANDARD_RESIDUES,
    InvalidResidueError,
    Protein,
    clean_sequence,
)


def test_alphabets() -> None:
    assert STANDARD_RESIDUES == "ACDEFGHIKLMNPQRSTVWY"
    assert AMBIGUOUS_RESIDUES == "XBUZO"


def test_whitespace_case_and_one_stop_symbol_are_removed() -> None:
    assert clean_sequence(" mk ta\r\n\tGV*", "p") == "MKTAGV"
    assert clean_sequence("MKTA*\n", "p") == "MKTA"
    assert clean_sequence("MKTA", "p") == "MKTA"


def test_every_allowed_letter_passes_in_either_case() -> None:
    allowed = STANDARD_RESIDUES + AMBIGUOUS_RESIDUES
    assert clean_sequence(allowed, "p") == allowed
    assert clean_sequence(allowed.lower(), "p") == allowed
    assert clean_sequence("xbuzo", "p") == "XBUZO"


def test_invalid_character_names_record_position_and_allowed_set() -> None:
    with pytest.raises(InvalidResidueError) as caught:
        clean_sequence("MKJA", "sp|P1|X")
    error = caught.value
    assert isinstance(error, InvalidInputError)
    assert (error.record, error.position, error.character) == ("sp|P1|X", 3, "J")
    message = str(error)
    assert "record 'sp|P1|X'" in message
    assert "'J' at residue 3" in message
    assert STANDARD_RESIDUES in message
    assert AMBIGUOUS_RESIDUES in message


def test_position_counts_residues_after_whitespace_removal() -> None:
    with pytest.raises(InvalidResidueError) as caught:
        clean_sequence("MK TA\n G1", "p")
    assert (caught.value.position, caught.value.character) == (6, "1")


@pytest.mark.parametrize(
    ("raw", "position", "character"),
    [
        ("MK-TA", 3, "-"),  # alignment gap
        ("MK.TA", 3, "."),
        ("MK*TA", 3, "*"),  # stop symbol not at the end
        ("MKTA**", 5, "*"),  # only ONE trailing stop symbol is removed
        ("MKı", 3, "ı"),  # dotless i upper-cases to 'I' but is not a residue letter
        ("ſMK", 1, "ſ"),  # long s upper-cases to 'S'
        ("MK\x00", 3, "\x00"),
    ],
)
def test_rejected_characters(raw: str, position: int, character: str) -> None:
    with pytest.raises(InvalidResidueError) as caught:
        clean_sequence(raw, "p")
    assert (caught.value.position, caught.value.character) == (position, character)


def test_stop_symbol_hint_in_message() -> None:
    with pytest.raises(InvalidInputError, match=r"'\*' is allowed only once, at the end"):
        clean_sequence("MK*TA", "p")


@pytest.mark.parametrize("raw", ["", "   \n\t", "*", " * \n"])
def test_empty_sequence(raw: str) -> None:
    with pytest.raises(InvalidInputError, match=r"^record 'x' has no sequence$"):
        clean_sequence(raw, "x")


def test_protein_is_frozen_and_reports_length() -> None:
    protein = Protein("p", "MKTA")
    assert protein.length == 4
    assert protein == Protein("p", "MKTA")
    with pytest.raises(FrozenInstanceError):
        protein.name = "q"  # type: ignore[misc]
