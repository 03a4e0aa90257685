"""Checks of a training run made before any worker starts: the task, the labels, LoRA's targets
and peft, gradient checkpointing. Everything here is fast (the model is built on ``meta``)."""

from __future__ import annotations

import importlib.util

from engines.catalog import ModelInfo
from engines.errors import UnsupportedError
from engines.inputs import load_proteins
from engines.spec import RunSpec
from engines.tokenizers import get_tokenizer
from engines.training.labels import load_labels
from engines.training.model import check_task, encoder_of, lora_targets


def check_training(spec: RunSpec, info: ModelInfo) -> None:
    """Raise a ``PlmprofError`` naming the problem for a training run that cannot work."""
    import torch

    from engines.builders import instantiate, make_config

    check_task(info, spec.task)
    proteins, _ = load_proteins(spec, get_tokenizer(info.tokenizer))
    load_labels(proteins, spec.task, spec.labels, spec.fasta, spec.seed)
    if spec.finetune != "lora" and not spec.grad_checkpointing:
        return
    with torch.device("meta"):
        encoder = encoder_of(instantiate(info, make_config(info)), info)
    if spec.finetune == "lora":
        lora_targets(info, encoder, spec.lora_targets)  # a wrong name is worth saying first
        if importlib.util.find_spec("peft") is None:
            raise UnsupportedError(
                "--finetune lora needs peft: pip install 'plmprof[lora]' (or pip install peft)"
            )
    if spec.grad_checkpointing and not getattr(encoder, "supports_gradient_checkpointing", False):
        raise UnsupportedError(f"{info.id} does not support gradient checkpointing")
