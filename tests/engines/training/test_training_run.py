"""The training worker loop on tiny models, in process: memory accounting, LoRA, learning,
warm-up, faults."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from engines.messages import Failed, StepDone
from engines.training import loop
from tests.tiny_models import result_of, run_in_process, tiny_spec


def _train(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **settings):
    settings = {"mode": "train", **settings}
    messages = run_in_process(monkeypatch, **settings)
    return messages, result_of(tiny_spec(**settings), messages)


def test_adamw_keeps_eight_bytes_per_trainable_parameter(monkeypatch, tmp_path) -> None:
    finetunes = ("full", "lora", "head") if importlib.util.find_spec("peft") else ("full", "head")
    for finetune in finetunes:
        _, result = _train(monkeypatch, tmp_path, task="classify", finetune=finetune)
        memory = result.training["memory"]
        assert memory["optimizer_state_bytes_per_trainable_parameter"] == 8.0, finetune
        assert memory["gradients"] * 1e6 == 4 * result.training["parameters"]["trainable"]
    _, result = _train(monkeypatch, tmp_path, task="classify", optimizer="sgd")
    assert result.training["memory"]["optimizer_state"] == 0


def test_warmup_steps_are_reported_not_timed(monkeypatch, tmp_path) -> None:
    messages, result = _train(monkeypatch, tmp_path, warmup=3, max_iters=2, min_iters=2)
    steps = [m for m in messages if isinstance(m, StepDone)]
    assert [s.warmup for s in steps] == [True, True, True, False, False]
    training = result.training
    assert training["steps"] == {
        "warmup": 3,
        "measured": 2,
        "first_step_s": pytest.approx(steps[0].end - steps[0].start),
        "scaler_skipped": 0,
    }
    assert training["step_time"]["count"] == 2
    assert result.latency["count"] == 2
    assert result.latency["covers"].startswith("one optimizer step: forward, loss, backward")
    assert len(training["loss"]) == 5 and training["loss_warmup_steps"] == 3
    window = result.throughput["window_s"]
    assert window == pytest.approx(steps[-1].end - steps[3].start)
    phases = training["phases"]
    assert phases["separable"] and phases["steps"] == 2
    assert sum(phases[p]["share"] for p in ("forward", "backward", "optimizer")) == pytest.approx(1)


def test_loss_falls_and_accuracy_beats_chance(monkeypatch, tmp_path, composition) -> None:
    fasta, labels = composition
    _, result = _train(
        monkeypatch,
        tmp_path,
        task="classify",
        fasta=str(fasta),
        labels=str(labels),
        seq_len=None,
        batch_size=4,
        lr=2e-3,
        eval_fraction=0.25,
        warmup=1,
        min_iters=40,
        max_iters=40,
    )
    assert result.status == "ok", result.message
    loss = result.training["loss"]
    assert sum(loss[-5:]) / 5 < 0.5 * sum(loss[:5]) / 5
    evaluation = result.training["evaluation"]
    assert evaluation["sequences"] == 6
    assert evaluation["accuracy"] > evaluation["chance"] + 0.3


def test_masked_lm_reports_masked_accuracy_and_perplexity(monkeypatch, tmp_path) -> None:
    _, result = _train(monkeypatch, tmp_path, task="mlm", model="tiny_bert")
    evaluation = result.training["evaluation"]
    assert evaluation["perplexity"] > 1 and 0 <= evaluation["accuracy"] <= 1
    assert "masked-token" in evaluation["what"]


def test_random_labels_say_accuracy_was_not_measured(monkeypatch, tmp_path) -> None:
    _, result = _train(monkeypatch, tmp_path, task="token-classify", finetune="head")
    assert result.training["evaluation"]["accuracy"] is None
    assert "random" in result.training["evaluation"]["reason"]
    assert result.training["labels"]["measured"] is False


def test_lora_trains_what_peft_says(monkeypatch, tmp_path) -> None:
    peft = pytest.importorskip("peft")
    from transformers import EsmConfig, EsmForSequenceClassification

    from tests.tiny_models import tiny_esm

    _, result = _train(monkeypatch, tmp_path, task="classify", finetune="lora")
    config = EsmConfig(**tiny_esm().config, num_labels=2)
    reference = peft.get_peft_model(
        EsmForSequenceClassification(config),
        peft.LoraConfig(
            task_type="SEQ_CLS", r=8, lora_alpha=16, target_modules=["query", "key", "value"]
        ),
    )
    trainable, _ = reference.get_nb_trainable_parameters()
    assert result.training["parameters"]["trainable"] == trainable


def test_nan_loss_ends_the_run_with_a_clear_error(monkeypatch, tmp_path) -> None:
    messages, result = _train(monkeypatch, tmp_path, task="classify", optimizer="sgd", lr=1e30)
    assert result.status == "error"
    assert "the loss became nan" in result.message.lower()
    assert "--lr" in result.message
    assert any(isinstance(m, StepDone) for m in messages)


def test_out_of_memory_in_step_k_keeps_the_steps_before(monkeypatch, tmp_path) -> None:
    original = loop.Stepper.step

    def step(self, number, batches):
        if number == 3:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return original(self, number, batches)

    monkeypatch.setattr(loop.Stepper, "step", step)
    messages, result = _train(monkeypatch, tmp_path, warmup=1, min_iters=10)
    assert isinstance(messages[-1], Failed)
    assert result.status == "oom"
    assert result.training["steps"]["measured"] == 2  # steps 1 and 2; step 0 was warm-up
    assert len(result.training["loss"]) == 3


def test_parity_compares_the_loss_curve_with_fp32(monkeypatch, tmp_path) -> None:
    _, result = _train(
        monkeypatch, tmp_path, task="classify", dtype="bf16", grad_checkpointing=True, quality=True
    )
    parity = result.training["parity"]
    assert len(parity["reference_losses"]) == len(result.training["loss"]) == parity["steps"]
    assert "autocast bf16 and gradient checkpointing" in parity["reference"]
    assert 0 < parity["max_relative_difference"] < parity["tolerance"]
    assert parity["warning"] is None
    _, fp32 = _train(monkeypatch, tmp_path, task="classify", quality=True)
    assert fp32.training["parity"]["max_relative_difference"] is None


def test_gradient_accumulation_steps_over_several_batches(monkeypatch, tmp_path) -> None:
    messages, result = _train(
        monkeypatch, tmp_path, grad_accum=2, warmup=1, min_iters=2, max_iters=2, eval_fraction=0
    )
    steps = [m for m in messages if isinstance(m, StepDone)]
    assert [s.batches for s in steps] == [(0, 1), (2, 3), (0, 1)]
    assert result.throughput["sequences"] == 2 * 2 * 2  # two measured steps of two batches of 2
    assert result.training["time_to_train"]["steps"] == 6  # 2 steps per epoch x 3 epochs
