"""Files a training test labels its sequences with."""

from __future__ import annotations

import random
from pathlib import Path

import pytest


def composition_set(count: int, length: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """(id, sequence, label): label 'K' sequences are rich in lysine, 'E' ones in glutamate, a
    task a model can learn from composition alone."""
    rng = random.Random(seed)
    records = []
    for index in range(count):
        label = "K" if index % 2 else "E"
        residues = [rng.choice("ACDGHILMNPQSTVWY") for _ in range(length)]
        for position in rng.sample(range(length), length // 2):
            residues[position] = label
        records.append((f"p{index}", "".join(residues), label))
    return records


def write_fasta(
    path: Path, records: list[tuple[str, str, str]], header_labels: bool = False
) -> Path:
    lines = []
    for name, sequence, label in records:
        lines.append(f">{name} label={label}" if header_labels else f">{name}")
        lines.append(sequence)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_labels(path: Path, rows: list[tuple[str, str]], sep: str = ",") -> Path:
    path.write_text("id" + sep + "label\n" + "".join(f"{a}{sep}{b}\n" for a, b in rows))
    return path


@pytest.fixture
def composition(tmp_path: Path) -> tuple[Path, Path]:
    records = composition_set(24, 20)
    fasta = write_fasta(tmp_path / "seqs.fasta", records)
    labels = write_labels(tmp_path / "labels.csv", [(n, label) for n, _, label in records])
    return fasta, labels
