"""What the packed forwards share: the refusal of a model they do not reproduce, and the query, key
and value projections of every encoder layer on a packed ``[T, d]`` stream.

Both packed forwards (ESM and BERT) use the layers' own ``query``/``key``/``value`` Linear modules
(transformers' ``layer.attention.self``). With ``fuse`` the three weights of each layer are also
kept concatenated as one ``[3d, d]`` matrix, so the projection is one matmul: a copy of 3·d² + 3d
values per layer, about a quarter of an encoder's Linear weights. Build it after the weights are
final and the model has its device and dtype.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as functional
from torch import nn


class UnsupportedModel(ValueError):
    """The model is not one a packed forward reproduces."""


class QkvProjection(nn.Module):
    def __init__(self, layers: Sequence[Any], heads: int, head_dim: int, *, fuse: bool) -> None:
        super().__init__()
        self.attentions = [layer.attention.self for layer in layers]
        self.heads = heads
        self.head_dim = head_dim
        self.fuse = fuse
        if fuse:
            for index, attn in enumerate(self.attentions):
                weight = torch.cat([attn.query.weight, attn.key.weight, attn.value.weight])
                bias = torch.cat([attn.query.bias, attn.key.bias, attn.value.bias])
                self.register_buffer(f"weight_{index}", weight.detach(), persistent=False)
                self.register_buffer(f"bias_{index}", bias.detach(), persistent=False)

    def extra_memory_bytes(self) -> int:
        """Bytes held beyond the model's own weights (the fused copies)."""
        return sum(b.numel() * b.element_size() for b in self.buffers())

    def forward(self, index: int, hidden: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Layer ``index``'s q, k, v of ``hidden`` ``[T, d]``, each ``[T, heads, head_dim]``."""
        total = hidden.shape[0]
        if self.fuse:
            weight = getattr(self, f"weight_{index}")
            bias = getattr(self, f"bias_{index}")
            qkv = functional.linear(hidden, weight, bias).view(total, 3, self.heads, self.head_dim)
            return qkv[:, 0], qkv[:, 1], qkv[:, 2]
        attn = self.attentions[index]
        shape = (total, self.heads, self.head_dim)
        return (
            attn.query(hidden).view(shape),
            attn.key(hidden).view(shape),
            attn.value(hidden).view(shape),
        )
