"""Labels for the classification tasks: from an ``id,label`` CSV/TSV file, from ``label=`` in FASTA
headers, or drawn at random (then accuracy is not measured). Nothing here loads torch.

A per-residue label is a string as long as its sequence, one class per character.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engines.errors import InvalidInputError
from engines.sequences import Protein

# Classes drawn when no labels are given: two per sequence, three per residue (helix/strand/coil).
RANDOM_CLASSES = {"classify": 2, "token-classify": 3}
_HEADER_KEY = "label="
_SHOWN = 3


@dataclass(frozen=True)
class Labels:
    """Class indices per protein (``per_protein[i]`` for protein ``i``): one index for sequence
    classification, one per residue for token classification. ``measured`` is False when they
    were drawn at random."""

    classes: tuple[str, ...]
    per_protein: tuple[tuple[int, ...], ...]
    source: str
    measured: bool

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def read_label_file(path: str | Path) -> dict[str, str]:
    """``id -> label`` from a CSV or TSV (tab-separated when the first line holds a tab). A first
    row ``id,label`` (any case) is a header."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInputError(f"labels file '{file}' does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read labels file '{file}': {exc}") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InvalidInputError(f"labels file '{file}' is empty")
    delimiter = "\t" if "\t" in lines[0] else ","
    rows = list(csv.reader(lines, delimiter=delimiter))
    if [c.strip().lower() for c in rows[0]] == ["id", "label"]:
        rows = rows[1:]
    labels: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise InvalidInputError(
                f"labels file '{file}': row {number} is {row!r}; "
                f"every row must be id{delimiter}label"
            )
        key = row[0].strip()
        if key in labels:
            raise InvalidInputError(f"labels file '{file}': id '{key}' appears twice")
        labels[key] = row[1].strip()
    return labels


def read_header_labels(fasta: str | Path) -> dict[str, str]:
    """``id -> label`` from FASTA headers such as ``>P12345 label=membrane``; records without a
    ``label=`` field are left out."""
    labels: dict[str, str] = {}
    text = Path(fasta).read_text(encoding="utf-8-sig", errors="replace")
    for line in text.splitlines():
        if not line.startswith(">"):
            continue
        fields = line[1:].split()
        found = [f[len(_HEADER_KEY) :] for f in fields[1:] if f.startswith(_HEADER_KEY)]
        if fields and found and found[0]:
            labels[fields[0]] = found[0]
    return labels


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def match_labels(
    proteins: Sequence[Protein], raw: dict[str, str], task: str, source: str
) -> Labels:
    """Class indices for ``proteins`` from ``raw``; every id must match both ways, at least two
    classes must occur, and per-residue strings must be as long as their sequence."""
    ids = [p.name for p in proteins]
    missing = [name for name in ids if name not in raw]
    extra = sorted(set(raw) - set(ids))
    if missing:
        raise InvalidInputError(
            f"{source}: no label for {len(missing)} FASTA record(s): {_names(missing)}"
        )
    if extra:
        raise InvalidInputError(
            f"{source}: {len(extra)} labelled id(s) are not in the FASTA: {_names(extra)}"
        )
    if task == "token-classify":
        for protein in proteins:
            label = raw[protein.name]
            if len(label) != protein.length:
                raise InvalidInputError(
                    f"{source}: record '{protein.name}' has {protein.length} residues but its "
                    f"per-residue label string has {len(label)} characters"
                )
        classes = sorted({c for p in proteins for c in raw[p.name]})
        index = {c: i for i, c in enumerate(classes)}
        per = tuple(tuple(index[c] for c in raw[p.name]) for p in proteins)
    else:
        classes = sorted({raw[name] for name in ids})
        index = {c: i for i, c in enumerate(classes)}
        per = tuple((index[raw[name]],) for name in ids)
    if len(classes) < 2:
        raise InvalidInputError(
            f"{source}: every label is '{classes[0]}'; a classifier needs at least two classes"
        )
    return Labels(tuple(classes), per, source, measured=True)


def random_labels(proteins: Sequence[Protein], task: str, seed: int) -> Labels:
    """Labels drawn at random (seeded): the step costs the same, accuracy means nothing."""
    count = RANDOM_CLASSES[task]
    rng = random.Random(seed)
    if task == "token-classify":
        per = tuple(tuple(rng.randrange(count) for _ in range(p.length)) for p in proteins)
    else:
        per = tuple((rng.randrange(count),) for _ in proteins)
    classes = tuple(str(i) for i in range(count))
    return Labels(classes, per, "random (no labels given)", measured=False)


def load_labels(
    proteins: Sequence[Protein], task: str, labels: str | None, fasta: str | None, seed: int
) -> Labels | None:
    """The labels of a run: none for masked-LM; from ``labels`` or ``label=`` headers in
    ``fasta``; else random. ``proteins`` are the workload's as read, before truncation (a
    truncated sequence's labels are cut with it when batches are made)."""
    if task == "mlm":
        return None
    if labels is not None:
        return match_labels(proteins, read_label_file(labels), task, f"labels file '{labels}'")
    if fasta is not None:
        raw = read_header_labels(fasta)
        if raw:
            return match_labels(proteins, raw, task, f"label= fields in '{fasta}'")
    return random_labels(proteins, task, seed)
