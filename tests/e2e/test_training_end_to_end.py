"""`plmprof run --mode train` end to end on CPU: real worker process, real ESM-2 8M, labels file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_run_end_to_end import plmprof
from tests.engines.training.conftest import composition_set, write_fasta, write_labels

pytestmark = pytest.mark.e2e


def test_training_run_exports_every_figure(tmp_path: Path) -> None:
    records = composition_set(12, 40)
    write_fasta(tmp_path / "F.fasta", records)
    write_labels(tmp_path / "L.csv", [(name, label) for name, _, label in records])
    run = plmprof(
        *("run", "-m", "esm2_t6_8M", "--mode", "train", "--task", "classify"),
        *("--labels", "L.csv", "--fasta", "F.fasta", "-b", "4", "--threads", "1"),
        *("--warmup", "1", "--min-iters", "2", "--max-iters", "2", "--duration", "0.1"),
        *("--eval-fraction", "0.25", "-o", "result.json"),
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    training = json.loads((tmp_path / "result.json").read_text())["training"]
    assert training["steps"]["measured"] == 2 and training["steps"]["warmup"] == 1
    assert training["flops"]["model_to_forward"] == pytest.approx(3.0, rel=0.01)
    assert training["memory"]["optimizer_state_bytes_per_trainable_parameter"] == 8.0
    assert training["evaluation"]["sequences"] == 3
    assert training["labels"] == {
        "source": "labels file 'L.csv'",
        "classes": ["E", "K"],
        "measured": True,
    }
    assert len(training["loss"]) == 3 and training["time_to_train"]["seconds"] > 0


def test_a_labels_file_that_misses_records_stops_before_any_work(tmp_path: Path) -> None:
    records = composition_set(4, 30)
    write_fasta(tmp_path / "F.fasta", records)
    write_labels(tmp_path / "L.csv", [("p0", "K"), ("p1", "E")])
    run = plmprof(
        *("run", "-m", "esm2_t6_8M", "--mode", "train", "--task", "classify"),
        *("--labels", "L.csv", "--fasta", "F.fasta"),
        cwd=tmp_path,
    )
    assert run.returncode == 2
    assert "no label for 2 FASTA record(s): 'p2', 'p3'" in run.stderr
    assert "Traceback" not in run.stderr
