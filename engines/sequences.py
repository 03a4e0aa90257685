"""Protein records and the one place where raw residue text becomes a clean sequence."""

from __future__ import annotations

from dataclasses import dataclass

from engines.errors import InvalidInputError

STANDARD_RESIDUES = "ACDEFGHIKLMNPQRSTVWY"
AMBIGUOUS_RESIDUES = "XBUZO"
ALLOWED_RESIDUES = frozenset(STANDARD_RESIDUES + AMBIGUOUS_RESIDUES)

# Only ASCII letters are accepted in either case: str.upper() maps some non-ASCII letters onto
# residue letters (dotless 'ı' -> 'I', long 'ſ' -> 'S'), which must not pass as valid input.
_ALLOWED_ANY_CASE = ALLOWED_RESIDUES | frozenset(c.lower() for c in ALLOWED_RESIDUES)
_STOP = "*"


@dataclass(frozen=True)
class Protein:
    """A named protein whose sequence is already clean (see ``clean_sequence``)."""

    name: str
    sequence: str

    @property
    def length(self) -> int:
        """Number of residues."""
        return len(self.sequence)


class InvalidResidueError(InvalidInputError):
    """A character that is not a residue letter; carries where it is so callers can add context."""

    def __init__(self, record: str, position: int, character: str) -> None:
        self.record = record
        self.position = position
        self.character = character
        hint = " ('*' is allowed only once, at the end)" if character == _STOP else ""
        super().__init__(
            f"record '{record}': invalid character {character!r} at residue {position}{hint}; "
            f"allowed are the standard residues {STANDARD_RESIDUES} and the ambiguous "
            f"{AMBIGUOUS_RESIDUES}, in either case, plus one trailing '*'"
        )


def clean_sequence(raw: str, name: str) -> str:
    """Return ``raw`` without whitespace, upper-cased, with one trailing ``*`` removed.

    Raises ``InvalidResidueError`` (an ``InvalidInputError``) naming the record, the 1-based
    residue position (counted after whitespace removal) and the character, and
    ``InvalidInputError`` when nothing is left.
    """
    compact = "".join(raw.split())
    if compact.endswith(_STOP):
        compact = compact[:-1]
    if not _ALLOWED_ANY_CASE.issuperset(compact):
        for index, character in enumerate(compact):
            if character not in _ALLOWED_ANY_CASE:
                raise InvalidResidueError(name, index + 1, character)
    if not compact:
        raise InvalidInputError(f"record '{name}' has no sequence")
    return compact.upper()
