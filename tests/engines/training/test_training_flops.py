"""Training FLOPs counted from the shape agree with what torch's FlopCounterMode sees."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from engines.builders import build_model
from engines.catalog import ModelInfo
from engines.training.model import build_training_model
from profilers.training.flops import training_flops
from tests.tiny_models import tiny_bert, tiny_esm

BATCH, TOKENS = 2, 40


def _counted(info: ModelInfo, task: str, finetune: str, checkpointing: bool = False) -> tuple:
    built = build_model(info, attention="eager", seed=0)
    model = build_training_model(
        built.module, info, task=task, classes=3, finetune=finetune, checkpointing=checkpointing
    )
    ids = torch.randint(4, 24, (BATCH, TOKENS))
    mask = torch.ones_like(ids)
    with FlopCounterMode(display=False) as forward_only, torch.no_grad():
        model.module(input_ids=ids, attention_mask=mask)
    with FlopCounterMode(display=False) as full:
        model.module(input_ids=ids, attention_mask=mask).float().sum().backward()
    ours = training_flops(model.shape, model.trained, [TOKENS] * BATCH)
    return forward_only.get_total_flops(), full.get_total_flops(), ours


@pytest.mark.parametrize("make", [tiny_esm, tiny_bert])
@pytest.mark.parametrize("task", ["mlm", "classify", "token-classify"])
def test_full_finetune_is_three_forwards(make, task) -> None:
    forward, total, ours = _counted(make(), task, "full")
    assert ours.forward == pytest.approx(forward, rel=0.02)
    assert ours.model == pytest.approx(total, rel=0.02)
    assert ours.model / ours.forward == pytest.approx(3.0, rel=0.01)


def test_lora_counts_about_two_forwards() -> None:
    pytest.importorskip("peft", reason="LoRA needs the lora extra (peft)")
    # A realistic width (d=320, as ESM-2 8M) keeps LoRA's adapters small beside the weights.
    info = tiny_esm(layers=2, hidden=320, heads=20)
    forward, total, ours = _counted(info, "classify", "lora")
    assert ours.forward == pytest.approx(forward, rel=0.02)
    assert ours.model == pytest.approx(total, rel=0.02)
    assert 1.8 < ours.model / ours.forward < 2.1  # two layers: the first one's saving weighs more


def test_head_only_is_about_one_forward() -> None:
    _, total, ours = _counted(tiny_esm(), "token-classify", "head")
    assert ours.model == pytest.approx(total, rel=0.02)
    assert ours.model / ours.forward < 1.1


def test_checkpointing_is_hardware_work_not_model_work() -> None:
    _, total, ours = _counted(tiny_esm(), "classify", "full", checkpointing=True)
    assert ours.model / ours.forward == pytest.approx(3.0, rel=0.01)
    # torch's non-reentrant checkpoint stops recomputing once the saved tensors are back, so the
    # encoder's forward is an upper bound of the recomputation.
    recomputed = total - ours.model
    assert 0.6 * ours.recompute < recomputed <= ours.recompute
    assert ours.recompute > 0.9 * ours.forward
