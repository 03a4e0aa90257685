"""Read FASTA files into clean ``Protein`` records, with errors that say what and where."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engines.errors import InvalidInputError
from engines.sequences import InvalidResidueError, Protein, clean_sequence

_SNIPPET = 40


@dataclass
class _Record:
    name: str
    header_line: int
    lines: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)


def read_fasta(path: str | Path) -> list[Protein]:
    """Parse a FASTA file: multi-line records, CRLF, lower case, a trailing ``*``, blank lines.

    The record name is the header up to the first whitespace (``record_<n>`` when the header is
    empty, ``n`` counting records from 1). Every problem raises ``InvalidInputError`` naming the
    file and, where it applies, the record and the line.
    """
    file = Path(path)
    text = _read_text(file)
    records = _split_records(file, text)
    return [_to_protein(file, record) for record in records]


def check_fasta_path(file: Path) -> None:
    """Raise for a FASTA path that does not name a file (cheap: commands check it first)."""
    if not file.exists():
        raise InvalidInputError(f"FASTA file '{file}' does not exist")
    if file.is_dir():
        raise InvalidInputError(f"'{file}' is a directory, not a FASTA file")


def _read_text(file: Path) -> str:
    check_fasta_path(file)
    try:
        data = file.read_bytes()
    except OSError as error:
        raise InvalidInputError(f"cannot read FASTA file '{file}': {error.strerror}") from None
    if b"\x00" in data:
        raise InvalidInputError(f"'{file}' is a binary file (it holds NUL bytes), not FASTA text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInputError(
            f"'{file}' is not UTF-8 text (undecodable byte at offset {error.start}); "
            "is it a binary or compressed file? FASTA must be plain text"
        ) from None
    if not text.strip():
        raise InvalidInputError(f"FASTA file '{file}' is empty")
    return text


def _split_records(file: Path, text: str) -> list[_Record]:
    records: list[_Record] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(">"):
            fields = stripped[1:].split()
            name = fields[0] if fields else f"record_{len(records) + 1}"
            records.append(_Record(name, number))
        elif not records:
            snippet = stripped if len(stripped) <= _SNIPPET else stripped[:_SNIPPET] + "..."
            raise InvalidInputError(
                f"'{file}' is not FASTA: line {number} comes before the first '>' header "
                f"({snippet!r}); every record must start with a line like '>name'"
            )
        else:
            records[-1].lines.append((number, line))
    return records


def _to_protein(file: Path, record: _Record) -> Protein:
    raw = "".join(text for _, text in record.lines)
    try:
        sequence = clean_sequence(raw, record.name)
    except InvalidResidueError as error:
        line = _line_of_residue(record, error.position)
        raise InvalidInputError(f"'{file}', line {line}: {error}") from None
    except InvalidInputError:
        raise InvalidInputError(
            f"'{file}': record '{record.name}' (header on line {record.header_line}) "
            "has no sequence"
        ) from None
    return Protein(record.name, sequence)


def _line_of_residue(record: _Record, position: int) -> int:
    """The file line holding the ``position``-th non-whitespace character of the record."""
    seen = 0
    for number, text in record.lines:
        seen += sum(1 for character in text if not character.isspace())
        if seen >= position:
            return number
    return record.lines[-1][0] if record.lines else record.header_line
