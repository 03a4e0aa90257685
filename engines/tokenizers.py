"""Offline tokenizers for the supported protein language models: pure per-residue lookups.

Every supported tokenizer maps one residue to one token and adds a fixed number of special tokens,
so a table lookup reproduces it exactly (checked in the tests against transformers' own ESM and
ProtBERT tokenizers) without the hub and far faster. Input must be clean (see
``engines.sequences.clean_sequence``): upper-case residue letters only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from engines.errors import InvalidInputError
from engines.sequences import ALLOWED_RESIDUES

if TYPE_CHECKING:  # torch loads only when tensors are made: listing and validation stay fast
    import torch

_NOT_A_RESIDUE = 255  # larger than every vocabulary here, so it can mark holes in the lookup table
_TO_X = {"U": "X", "Z": "X", "O": "X", "B": "X"}


class TokenizerKind(StrEnum):
    ESM = "esm"
    PROTBERT = "protbert"
    PROTT5 = "prott5"
    ANKH = "ankh"


@dataclass(frozen=True)
class Tokenizer:
    """One model family's vocabulary and how a clean sequence becomes token ids.

    ``special_tokens`` is how many tokens are added per sequence (``bos_id`` before the residues
    when it is set, ``eos_id`` after them).
    """

    kind: TokenizerKind
    vocab: tuple[str, ...]
    pad_id: int
    mask_id: int | None
    special_tokens: int
    eos_id: int
    unk_id: int
    bos_id: int | None
    residue_table: bytes = field(repr=False)  # 256 entries: ASCII code -> token id

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, sequence: str) -> list[int]:
        """Token ids for a clean sequence, special tokens included."""
        try:
            translated = sequence.encode("ascii").translate(self.residue_table)
        except UnicodeEncodeError:
            translated = bytes([_NOT_A_RESIDUE])
        if _NOT_A_RESIDUE in translated:
            bad = next(c for c in sequence if c not in ALLOWED_RESIDUES)
            raise InvalidInputError(
                f"{self.kind.value} tokenizer: {bad!r} is not an upper-case residue letter; "
                "clean the sequence first (engines.sequences.clean_sequence)"
            )
        body = list(translated)
        head = [] if self.bos_id is None else [self.bos_id]
        return [*head, *body, self.eos_id]

    def token_count(self, residues: int) -> int:
        """Tokens one sequence of ``residues`` residues becomes."""
        if residues < 0:
            raise ValueError(f"residue count must be >= 0, got {residues}")
        return residues + self.special_tokens

    def batch(
        self, sequences: Sequence[str], pad_to: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded ``input_ids`` and ``attention_mask`` (int64, shape [n, width]).

        ``width`` is the longest encoded sequence, or ``pad_to`` when given; a ``pad_to`` shorter
        than the longest sequence raises ``ValueError``.
        """
        rows = [self.encode(sequence) for sequence in sequences]
        longest = max((len(row) for row in rows), default=0)
        width = longest if pad_to is None else pad_to
        if width < longest:
            raise ValueError(f"pad_to={pad_to} is shorter than the longest sequence ({longest})")
        import torch

        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.int64)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.int64)
        for index, row in enumerate(rows):
            input_ids[index, : len(row)] = torch.tensor(row, dtype=torch.int64)
            attention_mask[index, : len(row)] = 1
        return input_ids, attention_mask


def get_tokenizer(kind: TokenizerKind | str) -> Tokenizer:
    """The tokenizer for a family, by ``TokenizerKind`` or its name (case-insensitive)."""
    if isinstance(kind, TokenizerKind):
        return _build(kind)
    try:
        parsed = TokenizerKind(str(kind).strip().lower())
    except ValueError:
        known = ", ".join(k.value for k in TokenizerKind)
        raise InvalidInputError(f"unknown tokenizer {kind!r}; known: {known}") from None
    return _build(parsed)


def write_vocab_file(kind: TokenizerKind, directory: Path) -> Path:
    """Write the vocabulary one token per line (line n = id n) as ``<kind>_vocab.txt``.

    This is the file format of transformers' ``EsmTokenizer`` and ``BertTokenizer``.
    """
    tokenizer = get_tokenizer(kind)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{tokenizer.kind.value}_vocab.txt"
    path.write_text("\n".join(tokenizer.vocab) + "\n", encoding="utf-8")
    return path


_ESM_VOCAB = [
    "<cls>",
    "<pad>",
    "<eos>",
    "<unk>",
    *"LAGVSERTIDPKQNFYMHWCXBUZO.-",
    "<null_1>",
    "<mask>",
]

_PROTBERT_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"LAGVESIKRDTPNQFYMHCWXUBZO"]

_PROTT5_RESIDUE_ORDER = "ALGVSREDTIPKFQNYMHWCXBOUZ"
_PROTT5_VOCAB = [
    "<pad>",
    "</s>",
    "<unk>",
    *(f"▁{residue}" for residue in _PROTT5_RESIDUE_ORDER),
    *(f"<extra_id_{n}>" for n in range(99, -1, -1)),
]

# UNVERIFIED: the real Ankh id layout could not be checked against a primary source. This is a
# T5-style stand-in of the right size (144): <pad> 0, </s> 1, <unk> 2, the 25 residue letters
# 3-27, then <extra_id_0> ... <extra_id_115> 28-143. With random weights only its size matters.
_ANKH_RESIDUE_ORDER = "LAGVSERTIDPKQNFYMHWCXBUZO"
_ANKH_VOCAB = [
    "<pad>",
    "</s>",
    "<unk>",
    *_ANKH_RESIDUE_ORDER,
    *(f"<extra_id_{n}>" for n in range(116)),
]


@cache
def _build(kind: TokenizerKind) -> Tokenizer:
    if kind is TokenizerKind.ESM:
        return _make(
            kind,
            _ESM_VOCAB,
            {},
            "",
            pad="<pad>",
            unk="<unk>",
            eos="<eos>",
            bos="<cls>",
            mask="<mask>",
        )
    if kind is TokenizerKind.PROTBERT:
        return _make(
            kind,
            _PROTBERT_VOCAB,
            _TO_X,
            "",
            pad="[PAD]",
            unk="[UNK]",
            eos="[SEP]",
            bos="[CLS]",
            mask="[MASK]",
        )
    if kind is TokenizerKind.PROTT5:
        return _make(kind, _PROTT5_VOCAB, _TO_X, "▁", pad="<pad>", unk="<unk>", eos="</s>")
    return _ankh()


def _ankh() -> Tokenizer:
    """Ankh: residues as single-character tokens plus ``</s>`` (L+1 tokens).

    UNVERIFIED id layout (see ``_ANKH_VOCAB``); U, Z, O and B keep their own ids here.
    """
    return _make(TokenizerKind.ANKH, _ANKH_VOCAB, {}, "", pad="<pad>", unk="<unk>", eos="</s>")


def _make(
    kind: TokenizerKind,
    vocab: Sequence[str],
    substitutions: Mapping[str, str],
    prefix: str,
    *,
    pad: str,
    unk: str,
    eos: str,
    bos: str | None = None,
    mask: str | None = None,
) -> Tokenizer:
    ids = {token: index for index, token in enumerate(vocab)}
    table = bytearray([_NOT_A_RESIDUE] * 256)
    for residue in ALLOWED_RESIDUES:
        table[ord(residue)] = ids[prefix + substitutions.get(residue, residue)]
    return Tokenizer(
        kind=kind,
        vocab=tuple(vocab),
        pad_id=ids[pad],
        mask_id=None if mask is None else ids[mask],
        special_tokens=1 + (bos is not None),
        eos_id=ids[eos],
        unk_id=ids[unk],
        bos_id=None if bos is None else ids[bos],
        residue_table=bytes(table),
    )
