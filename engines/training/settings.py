"""The training settings of a ``RunSpec``: their choices and the checks made when one is created.

``task``: ``mlm`` (masked-LM on the workload's sequences, no labels), ``classify`` (one label per
sequence) or ``token-classify`` (one label per residue). ``finetune``: ``full`` (every weight),
``lora`` (low-rank adapters, peft) or ``head`` (the head alone on a frozen encoder). In training the
weights stay fp32 and ``dtype`` is what ``torch.autocast`` runs the matmuls in.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from engines.errors import InvalidInputError

if TYPE_CHECKING:
    from engines.spec import RunSpec

TASKS = ("mlm", "classify", "token-classify")
FINETUNES = ("full", "lora", "head")
OPTIMIZERS = ("adamw", "sgd")


def validate_training(spec: RunSpec) -> None:
    """Raise ``InvalidInputError`` for training settings that are malformed or cannot combine."""
    for name, value, choices in (
        ("task", spec.task, TASKS),
        ("finetune", spec.finetune, FINETUNES),
        ("optimizer", spec.optimizer, OPTIMIZERS),
    ):
        if value not in choices:
            raise InvalidInputError(f"{name} '{value}' is not one of {', '.join(choices)}")
    if not (math.isfinite(spec.lr) and spec.lr > 0):
        raise InvalidInputError(f"learning rate must be a finite number above 0 (got {spec.lr})")
    if spec.grad_accum < 1:
        raise InvalidInputError(f"gradient accumulation must be 1 or more (got {spec.grad_accum})")
    if spec.lora_rank < 1 or spec.lora_alpha < 1:
        raise InvalidInputError("LoRA rank and alpha must be 1 or more")
    if not 0 <= spec.eval_fraction < 1:
        raise InvalidInputError(
            f"eval fraction must be at least 0 and below 1 (got {spec.eval_fraction})"
        )
    if not (math.isfinite(spec.epochs) and spec.epochs > 0):
        raise InvalidInputError(f"epochs must be a finite number above 0 (got {spec.epochs})")
    if spec.mode != "training":
        if spec.labels is not None:
            raise InvalidInputError("--labels is for training: add --mode train")
        if any(d.startswith("xla") for d in (spec.device, *spec.devices)):
            raise InvalidInputError("device xla runs training only (Trainium); add --mode train")
        return
    _validate_combination(spec)


def _validate_combination(spec: RunSpec) -> None:
    if spec.labels is not None and spec.task == "mlm":
        raise InvalidInputError(
            "masked-LM learns from the sequences themselves: drop --labels, or choose --task "
            "classify or token-classify"
        )
    if spec.labels is not None and spec.fasta is None:
        raise InvalidInputError("--labels names FASTA records: give the sequences with --fasta")
    if spec.lora_targets and spec.finetune != "lora":
        raise InvalidInputError("--lora-targets applies to --finetune lora")
    refused = {
        "--packing (the packed forward has no backward here)": spec.packing,
        f"--int8 {spec.int8}": spec.int8 != "none",
        f"--prune {spec.prune}": spec.prune != "none" or spec.prune_layers or spec.prune_heads,
        f"--compile {spec.compile}": spec.compile != "none",
    }
    for what, given in refused.items():
        if given:
            raise InvalidInputError(f"training does not support {what}; drop it for --mode train")
    if any(d.startswith("neuron") for d in spec.worker_devices()):
        raise InvalidInputError(
            "training on Trainium runs through torch-neuronx's XLA path: use --device xla"
        )
    if spec.dtype == "fp16" and not spec.device.startswith("cuda"):
        raise InvalidInputError(
            "fp16 training needs a loss scaler, which plmprof runs on CUDA only: use --dtype bf16 "
            "or fp32 here"
        )
