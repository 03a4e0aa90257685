"""Training runs that cannot work are refused before any worker starts, each with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from engines.errors import InvalidInputError, PlmprofError, UnsupportedError
from engines.preflight import check_runnable
from engines.spec import RunSpec
from tests.engines.training.conftest import write_labels
from tests.tiny_models import register


@pytest.fixture(autouse=True)
def _tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    register(monkeypatch)


def _spec(**settings) -> RunSpec:
    return RunSpec(**{"model": "tiny_esm", "mode": "train", "seq_len": 20, **settings})


def test_train_is_an_alias_of_training() -> None:
    assert _spec().mode == "training"


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"task": "fold"}, InvalidInputError, "task 'fold' is not one of"),
        ({"finetune": "bitfit"}, InvalidInputError, "finetune 'bitfit'"),
        ({"lr": 0}, InvalidInputError, "learning rate must be a finite number above 0"),
        ({"lr": float("nan")}, InvalidInputError, "learning rate must be a finite number"),
        ({"epochs": float("inf")}, InvalidInputError, "epochs must be a finite number"),
        ({"eval_fraction": float("nan")}, InvalidInputError, "eval fraction"),
        ({"eval_fraction": 1.0}, InvalidInputError, "eval fraction"),
        ({"packing": True, "token_budget": 100}, InvalidInputError, "does not support --packing"),
        ({"dtype": "fp16"}, InvalidInputError, "fp16 training needs a loss scaler"),
        ({"device": "neuron"}, InvalidInputError, "use --device xla"),
        ({"labels": "l.csv"}, InvalidInputError, "masked-LM learns from the sequences"),
        ({"task": "classify", "labels": "l.csv"}, InvalidInputError, "give the sequences"),
        ({"lora_targets": ("query",)}, InvalidInputError, "applies to --finetune lora"),
    ],
)
def test_settings_refused_on_creation(settings, error, message) -> None:
    with pytest.raises(error, match=message):
        _spec(**settings)


def test_labels_only_in_training() -> None:
    with pytest.raises(InvalidInputError, match="--labels is for training"):
        RunSpec(model="tiny_esm", fasta="x.fasta", seq_len=None, labels="l.csv")


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"model": "tiny_t5"}, UnsupportedError, "without a masked-LM head"),
        ({"model": "tiny_protst"}, UnsupportedError, "without a masked-LM head"),
        (
            {"task": "classify", "finetune": "lora", "lora_targets": ("query", "qkv")},
            InvalidInputError,
            "LoRA target module.s. qkv not in tiny_esm; its Linear layers are named",
        ),
    ],
)
def test_refused_before_any_work(settings, error, message) -> None:
    with pytest.raises(error, match=message):
        check_runnable(_spec(**settings))


def test_label_faults_found_in_preflight(tmp_path: Path, composition) -> None:
    fasta, _ = composition
    labels = write_labels(tmp_path / "bad.csv", [("p0", "E")])
    spec = _spec(task="classify", fasta=str(fasta), labels=str(labels), seq_len=None)
    with pytest.raises(PlmprofError, match="no label for 23 FASTA record"):
        check_runnable(spec)
