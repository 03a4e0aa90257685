"""Offline tokenizers: exact id layouts, cross-checked against transformers' own tokenizers."""

from pathlib import Path

import pytest
import torch
from transformers import BertTokenizer, EsmTokenizer

from engines.errors import InvalidInputError
from engines.sequences import AMBIGUOUS_RESIDUES, STANDARD_RESIDUES
from engines.tokenizers import Tokenizer, TokenizerKind, get_tokenizer, write_vocab_file

ESM_VOCAB = [
    "<cls>",
    "<pad>",
    "<eos>",
    "<unk>",
    "L",
    "A",
    "G",
    "V",
    "S",
    "E",
    "R",
    "T",
    "I",
    "D",
    "P",
    "K",
    "Q",
    "N",
    "F",
    "Y",
    "M",
    "H",
    "W",
    "C",
    "X",
    "B",
    "U",
    "Z",
    "O",
    ".",
    "-",
    "<null_1>",
    "<mask>",
]
PROTBERT_VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "L",
    "A",
    "G",
    "V",
    "E",
    "S",
    "I",
    "K",
    "R",
    "D",
    "T",
    "P",
    "N",
    "Q",
    "F",
    "Y",
    "M",
    "H",
    "C",
    "W",
    "X",
    "U",
    "B",
    "Z",
    "O",
]

CROSS_CHECK = [
    "MKTA",
    "A",
    STANDARD_RESIDUES,
    AMBIGUOUS_RESIDUES,
    "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAG",
    "MUUZZOOBBXXK",
    "UMKB",
]


def test_kinds_parse_from_strings_and_are_cached() -> None:
    assert get_tokenizer("ESM") is get_tokenizer(TokenizerKind.ESM)
    assert get_tokenizer(" prott5 ").kind is TokenizerKind.PROTT5
    assert [k.value for k in TokenizerKind] == ["esm", "protbert", "prott5", "ankh"]


def test_unknown_kind() -> None:
    with pytest.raises(InvalidInputError, match=r"unknown tokenizer 'gpt2'; known: esm, protbert"):
        get_tokenizer("gpt2")


def test_esm_layout() -> None:
    tok = get_tokenizer("esm")
    assert list(tok.vocab) == ESM_VOCAB
    assert (tok.vocab_size, tok.pad_id, tok.mask_id, tok.special_tokens) == (33, 1, 32, 2)
    assert (tok.bos_id, tok.eos_id, tok.unk_id) == (0, 2, 3)
    assert tok.encode("MKTA") == [0, 20, 15, 11, 5, 2]
    assert tok.encode("XBUZO") == [0, 24, 25, 26, 27, 28, 2]


def test_protbert_layout_maps_rare_residues_to_x() -> None:
    tok = get_tokenizer("protbert")
    assert list(tok.vocab) == PROTBERT_VOCAB
    assert (tok.vocab_size, tok.pad_id, tok.mask_id, tok.special_tokens) == (30, 0, 4, 2)
    assert tok.encode("MKTA") == [2, 21, 12, 15, 6, 3]
    assert tok.encode("UZOBX") == [2, 25, 25, 25, 25, 25, 3]


def test_prott5_layout() -> None:
    tok = get_tokenizer("prott5")
    assert tok.vocab_size == 128
    assert tok.vocab[:4] == ("<pad>", "</s>", "<unk>", "▁A")
    assert tok.vocab[27] == "▁Z"
    assert (tok.vocab[28], tok.vocab[127]) == ("<extra_id_99>", "<extra_id_0>")
    assert (tok.pad_id, tok.mask_id, tok.special_tokens, tok.bos_id) == (0, None, 1, None)
    assert tok.encode("MKTA") == [19, 14, 11, 3, 1]
    assert tok.encode("LGVSREDTIPKFQNYMHWCX") == [*range(4, 24), 1]
    assert tok.encode("UZOB") == [23, 23, 23, 23, 1]


def test_ankh_layout() -> None:
    tok = get_tokenizer("ankh")
    assert tok.vocab_size == 144
    assert len(set(tok.vocab)) == 144
    assert (tok.pad_id, tok.eos_id, tok.unk_id, tok.special_tokens) == (0, 1, 2, 1)
    assert tok.encode("MKTA") == [19, 14, 10, 4, 1]
    assert tok.vocab[19] == "M"


@pytest.mark.parametrize("kind", list(TokenizerKind))
def test_lengths_and_every_residue_known(kind: TokenizerKind) -> None:
    tok = get_tokenizer(kind)
    specials = {tok.pad_id, tok.eos_id, tok.unk_id, tok.bos_id, tok.mask_id}
    for sequence in CROSS_CHECK:
        ids = tok.encode(sequence)
        assert len(ids) == tok.token_count(len(sequence)) == len(sequence) + tok.special_tokens
        assert ids[-1] == tok.eos_id
        body = ids[1:-1] if tok.bos_id is not None else ids[:-1]
        assert not specials & set(body)
        assert all(0 <= i < tok.vocab_size for i in ids)
    expected_special = 2 if kind in (TokenizerKind.ESM, TokenizerKind.PROTBERT) else 1
    assert tok.token_count(0) == expected_special
    with pytest.raises(ValueError):
        tok.token_count(-1)


@pytest.mark.parametrize("sequence", CROSS_CHECK)
def test_esm_matches_transformers(tmp_path: Path, sequence: str) -> None:
    reference = EsmTokenizer(vocab_file=str(write_vocab_file(TokenizerKind.ESM, tmp_path)))
    assert get_tokenizer("esm").encode(sequence) == reference(sequence)["input_ids"]
    assert reference.pad_token_id == 1
    assert reference.mask_token_id == 32


@pytest.mark.parametrize("sequence", CROSS_CHECK)
def test_protbert_matches_transformers(tmp_path: Path, sequence: str) -> None:
    path = write_vocab_file(TokenizerKind.PROTBERT, tmp_path)
    reference = BertTokenizer(str(path), do_lower_case=False)
    spaced = " ".join("X" if c in "UZOB" else c for c in sequence)
    assert get_tokenizer("protbert").encode(sequence) == reference(spaced)["input_ids"]
    assert (reference.pad_token_id, reference.mask_token_id) == (0, 4)


def test_write_vocab_file(tmp_path: Path) -> None:
    path = write_vocab_file(TokenizerKind.ESM, tmp_path / "new")
    assert path == tmp_path / "new" / "esm_vocab.txt"
    assert path.read_text(encoding="utf-8").splitlines() == ESM_VOCAB
    other = write_vocab_file(TokenizerKind.PROTBERT, tmp_path / "new")
    assert other.read_text(encoding="utf-8").splitlines() == PROTBERT_VOCAB


@pytest.mark.parametrize("bad", ["mkta", "MK TA", "MK1", "MKé", "MK*"])
def test_encode_rejects_unclean_input(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="clean the sequence first"):
        get_tokenizer("esm").encode(bad)


def test_batch_right_pads_with_mask() -> None:
    tok = get_tokenizer("esm")
    input_ids, mask = tok.batch(["MK", "MKTAA"])
    assert input_ids.dtype == mask.dtype == torch.int64
    assert input_ids.tolist() == [[0, 20, 15, 2, 1, 1, 1], [0, 20, 15, 11, 5, 5, 2]]
    assert mask.tolist() == [[1, 1, 1, 1, 0, 0, 0], [1] * 7]


def test_batch_pad_to() -> None:
    tok = get_tokenizer("prott5")
    input_ids, mask = tok.batch(["MK", "A"], pad_to=5)
    assert input_ids.tolist() == [[19, 14, 1, 0, 0], [3, 1, 0, 0, 0]]
    assert mask.sum(dim=1).tolist() == [3, 2]
    exact, _ = tok.batch(["MKTA"], pad_to=5)
    assert exact.shape == (1, 5)


def test_batch_pad_to_shorter_than_longest() -> None:
    with pytest.raises(ValueError, match=r"pad_to=5 is shorter than the longest sequence \(6\)"):
        get_tokenizer("esm").batch(["MKTA", "M"], pad_to=5)


def test_empty_batch() -> None:
    input_ids, mask = get_tokenizer("esm").batch([])
    assert input_ids.shape == mask.shape == (0, 0)
    padded, _ = get_tokenizer("esm").batch([], pad_to=8)
    assert padded.shape == (0, 8)


def test_tokenizer_is_hashable_and_frozen() -> None:
    tok: Tokenizer = get_tokenizer("ankh")
    assert hash(tok) == hash(get_tokenizer("ankh"))
    with pytest.raises(AttributeError):
        tok.pad_id = 3  # type: ignore[misc]
