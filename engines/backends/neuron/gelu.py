"""Swap ESM's erf-based gelu for ``torch.nn.functional.gelu`` before tracing.

transformers' ESM code (``transformers.models.esm.modeling_esm``) computes the feed-forward gelu
with a module-level function, ``x * 0.5 * (1 + torch.erf(x / sqrt(2)))``, called from
``EsmIntermediate.forward``. Exporting ESM for Neuron fails with "Unsupported operator: erf"
(aws-neuron-sdk issue 1081). ``F.gelu`` (exact, not the tanh approximation) is the same function
and traces to ``aten::gelu``; the outputs differ by float rounding only.

The swap replaces each ``EsmIntermediate`` of the given model with an equivalent module that keeps
the same ``dense`` layer (so the state dict is unchanged); the transformers module itself is left
alone, so other models in the process are not affected.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FunctionalGeluIntermediate(nn.Module):
    """``EsmIntermediate`` with ``F.gelu``: ``gelu(dense(x))``."""

    def __init__(self, dense: nn.Linear) -> None:
        super().__init__()
        self.dense = dense

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(hidden_states))


def _esm_intermediate_class() -> type[nn.Module] | None:
    try:
        from transformers.models.esm.modeling_esm import EsmIntermediate
    except ImportError:
        return None
    return EsmIntermediate


def swap_erf_gelu(model: nn.Module) -> int:
    """Replace every ESM ``EsmIntermediate`` inside ``model`` in place; return how many.

    Only an ``EsmIntermediate`` whose single child is its ``dense`` Linear is replaced: a future
    transformers version with more inside it is left as it is rather than silently changed.
    """
    target = _esm_intermediate_class()
    if target is None:
        return 0
    swaps: list[tuple[nn.Module, str, nn.Linear]] = []
    for parent in model.modules():
        for name, child in parent.named_children():
            if type(child) is not target:
                continue
            children = dict(child.named_children())
            dense = children.get("dense")
            if set(children) == {"dense"} and isinstance(dense, nn.Linear):
                swaps.append((parent, name, dense))
    for parent, name, dense in swaps:
        setattr(parent, name, FunctionalGeluIntermediate(dense))
    return len(swaps)


def graph_text(traced: torch.jit.ScriptModule) -> str:
    """Every graph of a TorchScript module: the inlined one and each submodule's (TorchScript does
    not always inline submodule calls, e.g. under ``torch.jit.optimized_execution(False)``)."""
    graphs = [str(traced.inlined_graph)]
    for module in traced.modules():
        try:
            graphs.append(str(module.graph))
        except (AttributeError, RuntimeError):  # a container without a forward of its own
            continue
    return "\n".join(graphs)


def graph_has_erf(traced: torch.jit.ScriptModule) -> bool:
    """Whether a TorchScript module still calls ``aten::erf`` anywhere."""
    return "aten::erf" in graph_text(traced)
