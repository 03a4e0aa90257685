"""A packed forward pass for the transformers BERT encoder (ProtBERT, ProtBERT-BFD).

The same packed row as :mod:`engines.packed.esm_packed`, through ``BertModel``'s own modules:
embeddings (word + learned absolute position, restarting at 0 in each sequence, + token type 0),
LayerNorm; each layer post-LayerNorm as ``transformers.models.bert.modeling_bert`` computes it:
Q, K, V, the query scaled by ``head_dim ** -0.5``, attention restricted to each sequence
(:mod:`engines.packed.attention`), ``BertSelfOutput`` (projection, residual, LayerNorm), then
``BertIntermediate`` and ``BertOutput`` (feed-forward, residual, LayerNorm). The pooler is not run:
the packed path returns last hidden states, pooled per sequence by the runner.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from engines.packed.attention import AttentionPlan, attend
from engines.packed.layers import QkvProjection, UnsupportedModel


def check_bert(model: nn.Module) -> None:
    """Raise :class:`UnsupportedModel` unless ``model`` is a transformers BERT encoder we match."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", None) != "bert":
        raise UnsupportedModel(f"{type(model).__name__} is not a transformers BERT model")
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        raise UnsupportedModel("decoder or cross-attention BERT configurations are not supported")
    kind = getattr(config, "position_embedding_type", "absolute")
    if kind != "absolute":
        raise UnsupportedModel(f"position embedding type '{kind}' is not supported")


class PackedBert(nn.Module):
    """The encoder of a built transformers ``BertModel``, run on packed rows (no weight copy but
    the optional fused QKV of :class:`engines.packed.qkv.QkvProjection`)."""

    rotary_positions = False

    def __init__(self, model: nn.Module, *, fuse_qkv: bool = True) -> None:
        super().__init__()
        check_bert(model)
        config: Any = model.config
        self.embeddings: Any = model.embeddings
        encoder: Any = model.encoder
        self.layers: Any = encoder.layer
        self.heads = int(config.num_attention_heads)
        self.head_dim = int(config.hidden_size) // self.heads
        self.max_positions = int(config.max_position_embeddings)
        self.qkv = QkvProjection(self.layers, self.heads, self.head_dim, fuse=fuse_qkv)

    @property
    def max_tokens(self) -> int:
        """Longest sequence in tokens the learned positions allow."""
        return self.max_positions

    def extra_memory_bytes(self) -> int:
        return self.qkv.extra_memory_bytes()

    def forward(
        self, input_ids: torch.Tensor, position_ids: torch.Tensor, plan: AttentionPlan
    ) -> torch.Tensor:
        """Last hidden state ``[T, d]`` of a packed row."""
        hidden: torch.Tensor = self.embeddings(
            input_ids=input_ids[None],
            position_ids=position_ids[None],
            token_type_ids=torch.zeros_like(input_ids)[None],
        )[0]
        scale = self.head_dim**-0.5
        total = hidden.shape[0]
        for index, layer in enumerate(self.layers):
            q, k, v = self.qkv(index, hidden)
            context = attend(q * scale, k, v, plan).reshape(total, -1)
            attended = layer.attention.output(context, hidden)
            hidden = layer.output(layer.intermediate(attended), attended)
        return hidden
