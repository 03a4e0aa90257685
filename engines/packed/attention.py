"""Attention restricted to each sequence of a packed row, shared by the packed forwards.

Backends (:data:`ATTENTION_BACKENDS`); every one takes the query already scaled:

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
"""

from __future__ import annotations

import inspect
import itertools
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch
import torch.nn.functional as functional

ATTENTION_BACKENDS = ("varlen", "jagged", "flex", "segments", "masked")
FLEX_BLOCK = 128


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
