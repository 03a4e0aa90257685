"""read_fasta: real-world FASTA quirks parse; every malformed file gets a specific error."""

from pathlib import Path

import pytest

from engines.errors import InvalidInputError
from engines.fasta import read_fasta
from engines.sequences import Protein


def write(tmp_path: Path, data: bytes | str, name: str = "in.fasta") -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def test_multiline_crlf_lowercase_stop_blank_lines_and_ambiguous(tmp_path: Path) -> None:
    data = (
        b"\r\n"
        b">sp|P1|ONE first protein\r\n"
        b"MKTA\r\n"
        b"gvle*\r\n"
        b"\r\n"
        b">two\r\n"
        b"uzob\r\n"
        b"\r\n"
        b"X\r\n"
        b">three  \n"
        b"  ACDE FGHI \n"
    )
    assert read_fasta(write(tmp_path, data)) == [
        Protein("sp|P1|ONE", "MKTAGVLE"),
        Protein("two", "UZOBX"),
        Protein("three", "ACDEFGHI"),
    ]


def test_accepts_str_path_old_mac_line_endings_and_utf8_bom(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf>a\rMK\rTA\r>b\rGG")
    assert read_fasta(str(path)) == [Protein("a", "MKTA"), Protein("b", "GG")]


def test_empty_header_gets_numbered_name(tmp_path: Path) -> None:
    path = write(tmp_path, ">first\nMK\n>\nTA\n>   \nGG\n")
    assert [p.name for p in read_fasta(path)] == ["first", "record_2", "record_3"]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.fasta"
    with pytest.raises(InvalidInputError, match="does not exist") as caught:
        read_fasta(path)
    assert str(path) in str(caught.value)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="is a directory") as caught:
        read_fasta(tmp_path)
    assert str(tmp_path) in str(caught.value)


def test_binary_with_nul_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "in.fasta.gz")
    with pytest.raises(InvalidInputError, match="binary file") as caught:
        read_fasta(path)
    assert "in.fasta.gz" in str(caught.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, b">p\nMK\xe9TA\n")
    with pytest.raises(InvalidInputError, match=r"not UTF-8 text \(undecodable byte at offset 5\)"):
        read_fasta(path)


@pytest.mark.parametrize("data", [b"", b"\n\r\n  \t\n"])
def test_empty_file(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, data)
    with pytest.raises(InvalidInputError, match="is empty") as caught:
        read_fasta(path)
    assert str(path) in str(caught.value)


def test_text_before_first_header_is_not_fasta(tmp_path: Path) -> None:
    path = write(tmp_path, "\nMKTAGV\n>p\nMK\n")
    with pytest.raises(InvalidInputError) as caught:
        read_fasta(path)
    message = str(caught.value)
    assert "is not FASTA" in message
    assert "line 2" in message
    assert "'MKTAGV'" in message
    assert str(path) in message


def test_plain_sequence_file_without_header_is_not_fasta(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="line 1 comes before the first '>'"):
        read_fasta(write(tmp_path, "MKTA\n"))


@pytest.mark.parametrize(
    ("data", "name", "line"),
    [
        (">a\nMK\n>b\n\n>c\nGG\n", "b", 3),  # record in the middle
        (">a\nMK\n>last desc\n", "last", 3),  # record at the end
        (">a\n*\n", "a", 1),  # only a stop symbol
    ],
)
def test_record_without_sequence(tmp_path: Path, data: str, name: str, line: int) -> None:
    path = write(tmp_path, data)
    with pytest.raises(InvalidInputError) as caught:
        read_fasta(path)
    assert str(caught.value) == (
        f"'{path}': record '{name}' (header on line {line}) has no sequence"
    )


def test_invalid_character_names_file_line_record_and_position(tmp_path: Path) -> None:
    path = write(tmp_path, ">a\nMK\n>b\nMKTAG\r\nVL EA\r\nGG1G\r\n")
    with pytest.raises(InvalidInputError) as caught:
        read_fasta(path)
    message = str(caught.value)
    assert message.startswith(f"'{path}', line 6: record 'b': invalid character '1' at residue 12")
    assert "ACDEFGHIKLMNPQRSTVWY" in message


def test_invalid_character_on_first_sequence_line(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"line 2: record 'a': invalid character 'J'"):
        read_fasta(write(tmp_path, ">a\nJ\n"))


def test_stop_symbol_inside_a_multiline_record(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"line 2: .*'\*' at residue 3"):
        read_fasta(write(tmp_path, ">a\nMK*\nTA\n"))
