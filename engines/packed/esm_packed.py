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

Attention restricted to each sequence, selectable (:data:`ATTENTION_BACKENDS`):

- ``varlen``: ``torch.nn.attention.varlen.varlen_attn`` (flash attention over ``cu_seqlens``).
  CUDA with fp16/bf16 only.
- ``jagged``: ``scaled_dot_product_attention`` on nested tensors with ``layout=torch.jagged``
  (flash / memory-efficient varlen kernels on CUDA; on CPU, torch falls back to the math kernel
  one sequence at a time).
- ``flex``: FlexAttention with a document block mask built from the segment boundaries. Fused
  only under ``torch.compile``; eager FlexAttention is an unfused reference that materialises the
  scores (torch warns).
- ``segments``: one dense ``scaled_dot_product_attention`` call per sequence (a host-side loop
  over ``cu_seqlens``, which syncs on a GPU): the fused CPU kernel without padding, for CPUs.
- ``masked``: dense SDPA over the whole row with a block-diagonal boolean mask. O(T²) memory: a
  reference and a fallback for small rows, not a fast path.

A row whose segments all have one length (a fixed-length batch, or batch size 1) needs no mask:
it is viewed as a dense ``[n, L]`` batch and runs plain SDPA whatever the backend.

One known numerical difference from transformers: the feed-forward uses ``F.gelu`` (erf, rounded
once) where transformers spells the same formula out in four steps, each rounded to the model
dtype. The two agree to fp32 rounding in fp32; in bf16 ``F.gelu`` is the more accurate.
"""

from __future__ import annotations

import inspect
import itertools
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch
import torch.nn.functional as functional
from torch import nn

ATTENTION_BACKENDS = ("varlen", "jagged", "flex", "segments", "masked")
FLEX_BLOCK = 128
# transformers hard-codes the masking ratio used in every ESM training run.
_MASK_RATIO_TRAIN = 0.15 * 0.8


class UnsupportedModel(ValueError):
    """The module is not an ESM encoder this forward reproduces."""


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


@dataclass(frozen=True)
class AttentionPlan:
    """How one forward restricts attention; built once per row, shared by every layer."""

    backend: str
    cu_seqlens: torch.Tensor  # int32, segment boundaries
    max_seqlen: int
    uniform_len: int | None
    document_ids: torch.Tensor  # int32, one per token
    block_mask: Any = None  # flex BlockMask
    offsets: torch.Tensor | None = None  # int64 cu_seqlens for nested tensors


def document_block_mask(
    document_ids: torch.Tensor, block_size: int = FLEX_BLOCK, *, compute_q_blocks: bool = True
) -> Any:
    """A FlexAttention ``BlockMask`` letting each token attend only within its own document.

    Built from the block-level structure of the (non-decreasing) ``document_ids`` on their own
    device, without evaluating the mask over all T×T pairs: a block pair is computed when the
    blocks' document ranges overlap, and marked full (no mask_mod call) when both blocks are
    complete and lie inside one and the same document.
    """
    from torch.nn.attention.flex_attention import BlockMask

    total = int(document_ids.shape[0])
    blocks = -(-total // block_size)
    starts = torch.arange(blocks, device=document_ids.device) * block_size
    ends = torch.clamp(starts + block_size - 1, max=total - 1)
    first = document_ids[starts]
    last = document_ids[ends]
    overlap = (first[:, None] <= last[None, :]) & (first[None, :] <= last[:, None])
    complete = (ends - starts + 1) == block_size
    single = complete & (first == last)
    full = single[:, None] & single[None, :] & (first[:, None] == first[None, :])
    partial = overlap & ~full

    def ordered(dense: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        as_int = dense.to(torch.int32)
        counts = as_int.sum(dim=-1).to(torch.int32)
        indices = torch.argsort(as_int, dim=-1, descending=True, stable=True).to(torch.int32)
        return counts[None, None].contiguous(), indices[None, None].contiguous()

    documents = document_ids

    def same_document(batch: Any, head: Any, q_idx: Any, kv_idx: Any) -> Any:
        return documents[q_idx] == documents[kv_idx]

    kv_num, kv_index = ordered(partial)
    full_num, full_index = ordered(full)
    kwargs: dict[str, Any] = {}
    if "compute_q_blocks" in _from_kv_blocks_parameters():
        kwargs["compute_q_blocks"] = compute_q_blocks
    return BlockMask.from_kv_blocks(
        kv_num,
        kv_index,
        full_num,
        full_index,
        BLOCK_SIZE=block_size,
        mask_mod=same_document,
        seq_lengths=(total, total),
        **kwargs,
    )


@cache
def _from_kv_blocks_parameters() -> frozenset[str]:
    from torch.nn.attention.flex_attention import BlockMask

    return frozenset(inspect.signature(BlockMask.from_kv_blocks).parameters)


@cache
def varlen_takes_scale() -> bool:
    """Whether this torch's ``varlen_attn`` accepts ``scale`` (older releases may not)."""
    from torch.nn.attention.varlen import varlen_attn

    return "scale" in inspect.signature(varlen_attn).parameters


def varlen_available() -> bool:
    try:
        from torch.nn.attention.varlen import varlen_attn  # noqa: F401
    except ImportError:
        return False
    return True


def _dense_sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, length: int) -> torch.Tensor:
    """[T, H, D] of n sequences of one length -> attention per sequence, as [T, H, D]."""
    total, heads, dim = q.shape
    shape = (total // length, length, heads, dim)
    out = functional.scaled_dot_product_attention(
        q.reshape(shape).transpose(1, 2),
        k.reshape(shape).transpose(1, 2),
        v.reshape(shape).transpose(1, 2),
        scale=1.0,
    )
    return out.transpose(1, 2).reshape(total, heads, dim)


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, plan: AttentionPlan) -> torch.Tensor:
    """Attention of ``q``, ``k``, ``v`` ([T, H, D], query already scaled) within each segment."""
    if plan.uniform_len is not None:
        return _dense_sdpa(q, k, v, plan.uniform_len)
    if plan.backend == "varlen":
        from torch.nn.attention.varlen import varlen_attn

        cu, longest = plan.cu_seqlens, plan.max_seqlen
        if varlen_takes_scale():
            out = varlen_attn(q, k, v, cu, cu, longest, longest, scale=1.0)
        else:
            # Rotary is linear, so scaling after it equals transformers' scaling before it.
            out = varlen_attn(q * q.shape[-1] ** 0.5, k, v, cu, cu, longest, longest)
        assert isinstance(out, torch.Tensor)
        return out
    if plan.backend == "jagged":
        assert plan.offsets is not None

        def nest(x: torch.Tensor) -> torch.Tensor:
            return torch.nested.nested_tensor_from_jagged(
                x.contiguous(), plan.offsets, max_seqlen=plan.max_seqlen
            ).transpose(1, 2)

        out = functional.scaled_dot_product_attention(nest(q), nest(k), nest(v), scale=1.0)
        return out.transpose(1, 2).values()
    if plan.backend == "flex":
        from torch.nn.attention.flex_attention import flex_attention

        def row(x: torch.Tensor) -> torch.Tensor:
            x = x.transpose(0, 1).unsqueeze(0)
            # Inductor's CPU flex template (torch 2.13) needs a 4-d buffer, not a view of a 3-d one.
            return x.contiguous() if x.device.type == "cpu" else x

        out = flex_attention(row(q), row(k), row(v), block_mask=plan.block_mask, scale=1.0)
        assert isinstance(out, torch.Tensor)
        return out.squeeze(0).transpose(0, 1)
    if plan.backend == "segments":
        bounds = plan.cu_seqlens.tolist()
        parts = [
            _dense_sdpa(q[start:end], k[start:end], v[start:end], end - start)
            for start, end in itertools.pairwise(bounds)
        ]
        return torch.cat(parts)
    if plan.backend == "masked":
        docs = plan.document_ids
        mask = docs[:, None] == docs[None, :]
        out = functional.scaled_dot_product_attention(
            q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1), attn_mask=mask, scale=1.0
        )
        return out.transpose(0, 1)
    raise ValueError(f"unknown attention backend '{plan.backend}'; one of {ATTENTION_BACKENDS}")


def make_plan(
    backend: str,
    document_ids: torch.Tensor,
    cu_seqlens: torch.Tensor,
    max_seqlen: int,
    uniform_len: int | None,
) -> AttentionPlan:
    """The per-row attention metadata for ``backend`` (block mask for flex, offsets for jagged)."""
    if backend not in ATTENTION_BACKENDS:
        raise ValueError(f"unknown attention backend '{backend}'; one of {ATTENTION_BACKENDS}")
    block_mask = None
    offsets = None
    if uniform_len is None and backend == "flex":
        block_mask = document_block_mask(document_ids)
    if uniform_len is None and backend == "jagged":
        offsets = cu_seqlens.to(torch.int64)
    return AttentionPlan(
        backend, cu_seqlens, max_seqlen, uniform_len, document_ids, block_mask, offsets
    )


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class PackedEsm(nn.Module):
    """The encoder of a built transformers ``EsmModel``, run on packed rows.

    It holds the model's own modules (no copy of their weights). With ``fuse_qkv`` it also keeps
    one concatenated ``[3d, d]`` query/key/value weight per layer (a copy: 3·d² extra values per
    layer, about 25% of the encoder's Linear weights), so Q, K and V take one matmul. Build it
    after the weights are final and after the model has its device and dtype.
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
        self.fuse_qkv = fuse_qkv
        self.qkv_weights: list[torch.Tensor] = []
        self.qkv_biases: list[torch.Tensor] = []
        if fuse_qkv:
            for index, layer in enumerate(self.layers):
                attn = layer.attention.self
                weight = torch.cat([attn.query.weight, attn.key.weight, attn.value.weight]).detach()
                bias = torch.cat([attn.query.bias, attn.key.bias, attn.value.bias]).detach()
                self.register_buffer(f"qkv_weight_{index}", weight, persistent=False)
                self.register_buffer(f"qkv_bias_{index}", bias, persistent=False)

    def extra_memory_bytes(self) -> int:
        """Bytes held beyond the model's own weights (the fused QKV copies)."""
        return sum(b.numel() * b.element_size() for b in self.buffers(recurse=False))

    def _qkv(self, index: int, layer: Any, hidden: torch.Tensor) -> tuple[torch.Tensor, ...]:
        total = hidden.shape[0]
        if self.fuse_qkv:
            weight = getattr(self, f"qkv_weight_{index}")
            bias = getattr(self, f"qkv_bias_{index}")
            qkv = functional.linear(hidden, weight, bias).view(total, 3, self.heads, self.head_dim)
            return qkv[:, 0], qkv[:, 1], qkv[:, 2]
        attn = layer.attention.self
        shape = (total, self.heads, self.head_dim)
        return (
            attn.query(hidden).view(shape),
            attn.key(hidden).view(shape),
            attn.value(hidden).view(shape),
        )

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
            q, k, v = self._qkv(index, layer, normed)
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
