"""The model a training run steps: the catalog encoder, a task head, and what is trained.

Heads follow transformers' task classes: ESM's and BERT's masked-LM heads (decoder tied to the
word embeddings, as the released checkpoints are), a sequence head on the mean over real tokens
(dense, tanh, projection: the parameter count of ``EsmClassificationHead``) and a per-token linear
head. LoRA comes from peft.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from engines.catalog import Family, ModelInfo
from engines.errors import InvalidInputError, UnsupportedError
from engines.structure import ModelShape, model_shape
from engines.training.shape import TrainedShape

# The attention projections LoRA adapts by default (the choice of Schmirler et al. 2024).
DEFAULT_LORA_TARGETS = {
    Family.ESM: ("query", "key", "value"),
    Family.PROTST: ("query", "key", "value"),
    Family.BERT: ("query", "key", "value"),
    Family.T5_ENCODER: ("q", "k", "v"),
}
# Projections that read a layer's input (their first-layer copies see only frozen embeddings).
_INPUT_PROJECTIONS = ("query", "key", "value", "q", "k", "v")
# Where each head lives in the task model; engines.structure counts "head" once per sequence.
_HEAD_NAMES = {"mlm": "lm_head", "classify": "head", "token-classify": "token_head"}
# Encoder parts no task loss reaches (ESM's contact head does not run; BERT's pooled output is not
# used by these heads): frozen, so no parameter counts as trained without a gradient.
_UNUSED_PARTS = ("contact_head", "pooler")


class TaskModel(nn.Module):
    """Encoder + head; ``forward`` returns logits: [batch, tokens, classes] for the per-token
    tasks (masked-LM, token classification), [batch, classes] for sequence classification."""

    def __init__(self, encoder: nn.Module, head: nn.Module, task: str) -> None:
        super().__init__()
        self.encoder = encoder
        self.task = task
        setattr(self, _HEAD_NAMES[task], head)

    @property
    def head_module(self) -> nn.Module:
        head: nn.Module = getattr(self, _HEAD_NAMES[self.task])
        return head

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.task == "classify":
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            hidden = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        logits: torch.Tensor = self.head_module(hidden)
        return logits


class SequenceHead(nn.Module):
    def __init__(self, hidden: int, classes: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.out_proj = nn.Linear(hidden, classes)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.out_proj(torch.tanh(self.dense(pooled)))
        return result


@dataclass
class TrainingModel:
    module: nn.Module  # what the loop calls (the peft wrapper under LoRA)
    shape: ModelShape  # the forward's work, adapters included
    trained: TrainedShape
    notes: list[str]


def encoder_of(built: nn.Module, info: ModelInfo) -> nn.Module:
    """The part of a catalog model that yields ``last_hidden_state`` (ProtST: its ESM-1b)."""
    if info.family is Family.PROTST:
        encoder: nn.Module = built.esm  # type: ignore[assignment]
        return encoder
    return built


def check_task(info: ModelInfo, task: str) -> None:
    """Raise for a task the model cannot do (before anything is built)."""
    if task == "mlm" and info.family not in (Family.ESM, Family.BERT):
        raise UnsupportedError(
            f"{info.id} is an encoder shipped without a masked-LM head, so masked-LM is not "
            "available: use --task classify or token-classify"
        )


def _hidden_size(encoder: Any) -> int:
    config = encoder.config
    return int(getattr(config, "hidden_size", None) or config.d_model)


def _mlm_head(encoder: Any, info: ModelInfo) -> nn.Module:
    """The family's masked-LM head, its decoder tied to the word embeddings."""
    config = encoder.config
    embeddings = encoder.embeddings.word_embeddings
    head: Any
    if info.family is Family.ESM:
        from transformers.models.esm.modeling_esm import EsmLMHead

        head = EsmLMHead(config)
        head.decoder.weight = embeddings.weight
        return head
    from transformers.models.bert.modeling_bert import BertOnlyMLMHead

    head = BertOnlyMLMHead(config)
    head.predictions.decoder.weight = embeddings.weight
    head.predictions.decoder.bias = head.predictions.bias  # tied as in BertForMaskedLM
    return head


def make_head(encoder: nn.Module, info: ModelInfo, task: str, classes: int) -> nn.Module:
    hidden = _hidden_size(encoder)
    if task == "mlm":
        head = _mlm_head(encoder, info)
    elif task == "classify":
        head = SequenceHead(hidden, classes)
    else:
        head = nn.Linear(hidden, classes)
    parameter = next(encoder.parameters())
    return head.to(device=parameter.device, dtype=parameter.dtype)


def _linear_names(module: nn.Module) -> set[str]:
    return {
        name.rsplit(".", 1)[-1] for name, m in module.named_modules() if isinstance(m, nn.Linear)
    }


def lora_targets(info: ModelInfo, encoder: nn.Module, requested: Sequence[str]) -> tuple[str, ...]:
    """The module names LoRA adapts; each must name Linear layers of the encoder."""
    targets = tuple(requested) or DEFAULT_LORA_TARGETS[info.family]
    available = _linear_names(encoder)
    missing = [t for t in targets if t not in available]
    if missing:
        raise InvalidInputError(
            f"LoRA target module(s) {', '.join(missing)} not in {info.id}; its Linear layers are "
            f"named {', '.join(sorted(available))}"
        )
    return targets


def _first_layer_projections(encoder: nn.Module, targets: Sequence[str]) -> int:
    """Weights of the first layer's adapted input projections (no input gradient under LoRA)."""
    linears = [
        (name, m)
        for name, m in encoder.named_modules()
        if isinstance(m, nn.Linear) and name.rsplit(".", 1)[-1] in _INPUT_PROJECTIONS
    ]
    if not linears:
        return 0
    first = linears[0][0].split(".")
    layer = next((i for i, part in enumerate(first) if part.isdigit()), None)
    if layer is None:
        return 0
    prefix = ".".join(first[: layer + 1]) + "."
    return sum(
        m.weight.numel()
        for name, m in linears
        if name.startswith(prefix) and name.rsplit(".", 1)[-1] in targets
    )


def _adapter_params(encoder: nn.Module, targets: Sequence[str], rank: int) -> int:
    return sum(
        rank * (m.in_features + m.out_features)
        for name, m in encoder.named_modules()
        if isinstance(m, nn.Linear) and name.rsplit(".", 1)[-1] in targets
    )


def build_training_model(
    built: nn.Module,
    info: ModelInfo,
    *,
    task: str,
    classes: int,
    finetune: str,
    rank: int = 8,
    alpha: int = 16,
    targets: Sequence[str] = (),
    checkpointing: bool = False,
) -> TrainingModel:
    """Put a head on ``built``'s encoder and choose what trains: ``full``, ``lora`` or ``head``."""
    check_task(info, task)
    encoder = encoder_of(built, info)
    task_model = TaskModel(encoder, make_head(encoder, info, task, classes), task)
    shape = model_shape(task_model)
    head = task_model.head_module
    head_weights = sum(m.weight.numel() for m in head.modules() if isinstance(m, nn.Linear))
    notes: list[str] = []
    adapters = frozen_inputs = 0
    module: nn.Module = task_model
    for part in _UNUSED_PARTS:
        unused = getattr(encoder, part, None)
        if isinstance(unused, nn.Module):
            unused.requires_grad_(False)
    if finetune == "head":
        encoder.requires_grad_(False)
    elif finetune == "lora":
        chosen = lora_targets(info, encoder, targets)
        adapters = _adapter_params(encoder, chosen, rank)
        frozen_inputs = _first_layer_projections(encoder, chosen)
        module = _with_lora(task_model, chosen, rank, alpha)
        notes.append(f"LoRA r={rank} alpha={alpha} on {', '.join(chosen)} (peft)")
    if checkpointing:
        _enable_checkpointing(encoder, info)
        if finetune == "head":
            notes.append("gradient checkpointing has nothing to recompute: the encoder is frozen")
    module.train()
    trainable = [p for p in module.parameters() if p.requires_grad]
    per_seq_head = head_weights if task == "classify" else 0
    grad_token = sum(p.numel() for p in trainable if p.dim() == 2) - per_seq_head
    if finetune == "full":  # embeddings are looked up, not multiplied: no weight-gradient FLOPs
        grad_token = shape.token_linear_params
    trained = TrainedShape(
        finetune=finetune,
        parameters=sum(p.numel() for p in module.parameters()),
        trainable=sum(p.numel() for p in trainable),
        encoder_trainable=finetune != "head",
        weight_grad_token_params=grad_token,
        weight_grad_sequence_params=per_seq_head,
        adapter_token_params=adapters,
        head_token_params=0 if task == "classify" else head_weights,
        head_sequence_params=head_weights if task == "classify" else 0,
        checkpointing=checkpointing and finetune != "head",
        no_input_grad_token_params=frozen_inputs,
    )
    return TrainingModel(module, shape, trained, notes)


def _enable_checkpointing(encoder: Any, info: ModelInfo) -> None:
    """Non-reentrant activation checkpointing of every layer (transformers' own switch)."""
    if not getattr(encoder, "supports_gradient_checkpointing", False):
        raise UnsupportedError(f"{info.id} does not support gradient checkpointing")
    if hasattr(encoder.config, "use_cache"):
        encoder.config.use_cache = False
    kwargs = {"use_reentrant": False}
    if hasattr(encoder, "activation_checkpointing_enable"):  # transformers >= 5.x's name
        encoder.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        encoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


def _with_lora(model: nn.Module, targets: Sequence[str], rank: int, alpha: int) -> nn.Module:
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise UnsupportedError(
            "--finetune lora needs peft: pip install 'plmprof[lora]' (or pip install peft)"
        ) from None
    head = next(n for n in _HEAD_NAMES.values() if hasattr(model, n))
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=list(targets))
    with warnings.catch_warnings():  # peft asks transformers a deprecated question; not ours
        warnings.simplefilter("ignore", FutureWarning)
        wrapped: nn.Module = get_peft_model(model, config)
    # peft freezes everything but the adapters; the new head trains (as peft's modules_to_save
    # would make it, without a second copy). A masked-LM decoder stays tied to the frozen
    # embeddings.
    for name, param in wrapped.named_parameters():
        if f".{head}." in f".{name}" and "decoder" not in name:
            param.requires_grad_(True)
    return wrapped
