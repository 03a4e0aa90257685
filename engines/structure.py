"""What a model's forward pass computes, read off the built module: the input to FLOPs counting."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch loads only where a model is measured, not with the messages
    from torch import nn

# Linear layers applied once per sequence (on a pooled vector), not once per token.
_PER_SEQUENCE_PARTS = ("pooler", "head")
# Modules a model holds but its forward pass does not run (ESM's contact-prediction head).
_NOT_RUN_PARTS = ("contact_head",)
_QUERY_NAMES = ("query", "q")


@dataclass(frozen=True)
class ModelShape:
    """``token_linear_params``: Linear weights run on every token; ``sequence_linear_params``: run
    once per sequence; ``attn_dims``: heads × head_dim of each attention layer, in order."""

    parameters: int
    token_linear_params: int
    sequence_linear_params: int
    attn_dims: tuple[int, ...]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def model_shape(model: nn.Module) -> ModelShape:
    from torch import nn

    token = sequence = 0
    attn: list[int] = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear):
            continue
        parts = name.split(".")
        if any(part in _NOT_RUN_PARTS for part in parts):
            continue
        if any(part in _PER_SEQUENCE_PARTS for part in parts):
            sequence += module.weight.numel()
            continue
        token += module.weight.numel()
        if parts[-1] in _QUERY_NAMES:
            attn.append(module.out_features)
    parameters = sum(p.numel() for p in model.parameters())
    return ModelShape(parameters, token, sequence, tuple(attn))


def run_parameters(model: nn.Module) -> int:
    """Parameters of the modules the forward pass runs: all but those it never calls (ESM's
    contact-prediction head, built by transformers but unused for embeddings)."""
    return sum(
        p.numel()
        for name, p in model.named_parameters()
        if not any(part in _NOT_RUN_PARTS for part in name.split("."))
    )
