"""A packed forward pass for the transformers ESM encoder (ESM-2 and ESM-1b), reusing its weights.

The input is one packed row (see :mod:`engines.packed.pack`): a flat stream of ``T`` tokens made
of several sequences, with positions restarting in each. Every per-token step runs on ``[T, d]``
exactly as ``transformers.models.esm.modeling_esm`` computes it:

- embeddings: word embedding; with ``token_dropout``, ``<mask>`` tokens zeroed and the rest scaled
  by ``0.88 / (1 - mask ratio)``, the ratio taken per sequence (0.88 when nothing is masked); for
  ESM-1b, learned absolute positions (``padding_idx + 1 + position``) and the layer norm before the
  encoder;
- each layer, pre-LayerNorm: Q, K, V; the query scaled by ``head_dim ** -0.5`` *before* rotary
  (ESM-2); rotary on query and key in fp32 with cos/sin rounded to the model dtype, as transformers
  does; attention with scale 1.0 restricted to each sequence; output projection plus residual;
  LayerNorm, erf GELU feed-forward, residual;
- ``emb_layer_norm_after`` at the end.

Attention restricted to each sequence: :mod:`engines.packed.attention`.

One known numerical difference from transformers: the feed-forward uses ``F.gelu`` (erf, rounded
once) where transformers spells the same formula out in four steps, each rounded to the model
dtype. The two agree to fp32 rounding in fp32; in bf16 ``F.gelu`` is the more accurate.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as functional
from torch import nn

from engines.packed.attention import AttentionPlan, attend
from engines.packed.layers import QkvProjection, UnsupportedModel

# transformers hard-codes the masking ratio used in every ESM training run.
_MASK_RATIO_TRAIN = 0.15 * 0.8


def check_esm(model: nn.Module) -> None:
    """Raise :class:`UnsupportedModel` unless ``model`` is a transformers ESM encoder we match."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", None) != "esm":
        raise UnsupportedModel(f"{type(model).__name__} is not a transformers ESM model")
    if not hasattr(model, "embeddings") or not hasattr(model, "encoder"):
        raise UnsupportedModel(f"{type(model).__name__} has no embeddings/encoder (use EsmModel)")
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        raise UnsupportedModel("decoder or cross-attention ESM configurations are not supported")
    kind = getattr(config, "position_embedding_type", "absolute")
    if kind not in ("rotary", "absolute"):
        raise UnsupportedModel(f"position embedding type '{kind}' is not supported")


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class PackedEsm(nn.Module):
    """The encoder of a built transformers ``EsmModel``, run on packed rows.

    It holds the model's own modules (no copy of their weights); ``fuse_qkv``: see
    :class:`engines.packed.layers.QkvProjection`.
    """

    def __init__(self, model: nn.Module, *, fuse_qkv: bool = True) -> None:
        super().__init__()
        check_esm(model)
        config: Any = model.config
        self.embeddings: Any = model.embeddings
        encoder: Any = model.encoder
        self.layers: Any = encoder.layer
        self.final_norm: Any = encoder.emb_layer_norm_after
        self.rotary: Any = getattr(model, "rotary_embeddings", None)
        self.rotary_positions = config.position_embedding_type == "rotary"
        self.heads = int(config.num_attention_heads)
        self.head_dim = int(config.hidden_size) // self.heads
        self.max_positions = int(config.max_position_embeddings)
        self.padding_idx = int(config.pad_token_id)
        self.qkv = QkvProjection(self.layers, self.heads, self.head_dim, fuse=fuse_qkv)

    @property
    def max_tokens(self) -> int | None:
        """Longest sequence in tokens the positions allow (None: rotary, no limit)."""
        return None if self.rotary_positions else self.max_positions - 2

    def extra_memory_bytes(self) -> int:
        """Bytes held beyond the model's own weights (the fused QKV copies)."""
        return self.qkv.extra_memory_bytes()

    def embed(
        self,
        input_ids: torch.Tensor,
        position_ids: torch.Tensor,
        document_ids: torch.Tensor,
        cu_seqlens: torch.Tensor,
    ) -> torch.Tensor:
        """Token embeddings of a packed row, ``[T, d]``, as ``EsmEmbeddings`` computes them."""
        emb = self.embeddings
        hidden = emb.word_embeddings(input_ids)
        if emb.token_dropout:
            is_mask = input_ids == emb.mask_token_id
            hidden = hidden.masked_fill(is_mask.unsqueeze(-1), 0.0)
            docs = document_ids.to(torch.int64)
            segments = cu_seqlens[1:] - cu_seqlens[:-1]
            masked = torch.zeros(segments.shape[0], device=hidden.device, dtype=torch.float32)
            masked = masked.index_add(0, docs, is_mask.to(torch.float32))
            observed = masked / segments
            hidden = (hidden * (1 - _MASK_RATIO_TRAIN) / (1 - observed)[docs][:, None]).to(
                hidden.dtype
            )
        if not self.rotary_positions:
            hidden = hidden + emb.position_embeddings(position_ids + self.padding_idx + 1)
        if emb.layer_norm is not None:
            hidden = emb.layer_norm(hidden)
        return hidden

    def rotary_tables(
        self, position_ids: torch.Tensor, dtype: torch.dtype
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and sin ``[T, 1, head_dim]`` in ``dtype``, as ``EsmRotaryEmbedding`` makes them."""
        inv_freq = self.rotary.inv_freq.to(device=position_ids.device, dtype=torch.float32)
        freqs = position_ids[:, None].float() * inv_freq[None, :]
        angles = torch.cat((freqs, freqs), dim=-1)
        scaling = float(getattr(self.rotary, "attention_scaling", 1.0))
        cos = (angles.cos() * scaling).to(dtype)
        sin = (angles.sin() * scaling).to(dtype)
        return cos[:, None, :], sin[:, None, :]

    def forward(
        self,
        input_ids: torch.Tensor,
        position_ids: torch.Tensor,
        plan: AttentionPlan,
    ) -> torch.Tensor:
        """Last hidden state ``[T, d]`` of a packed row."""
        hidden = self.embed(input_ids, position_ids, plan.document_ids, plan.cu_seqlens)
        rotary = self.rotary_tables(position_ids, hidden.dtype) if self.rotary_positions else None
        scale = self.head_dim**-0.5
        total = hidden.shape[0]
        for index, layer in enumerate(self.layers):
            attention = layer.attention
            normed = attention.LayerNorm(hidden)
            q, k, v = self.qkv(index, normed)
            q = q * scale
            if rotary is not None:
                cos, sin = rotary
                dtype = q.dtype
                q32, k32 = q.float(), k.float()
                q = (q32 * cos + _rotate_half(q32) * sin).to(dtype)
                k = (k32 * cos + _rotate_half(k32) * sin).to(dtype)
            context = attend(q, k, v, plan).reshape(total, -1)
            hidden = attention.output.dense(context) + hidden
            normed = layer.LayerNorm(hidden)
            inner = functional.gelu(layer.intermediate.dense(normed))
            hidden = layer.output.dense(inner) + hidden
        result: torch.Tensor = self.final_norm(hidden)
        return result
