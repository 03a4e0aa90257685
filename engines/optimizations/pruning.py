"""Pruning, each kind reporting what it changed.

- Unstructured magnitude pruning: in every Linear layer of the encoder, the ``S`` fraction of
  weights with the smallest magnitude become zero. The tensors stay dense, so dense kernels do the
  same work: expect no speed-up, and FLOPs are still counted dense.
- 2:4 semi-structured sparsity (CUDA, compute capability 8.0 or newer): in every group of four
  consecutive input weights of an encoder Linear, the two smallest become zero, and the weight is
  converted with ``torch.sparse.to_sparse_semi_structured`` (cuSPARSELt preferred: the CUTLASS
  backend refuses compute capability 9.0). Measured as it runs; on an H100 it ran slower than
  dense.
- Structural: ``drop_layers`` removes the last N encoder layers; ``drop_heads`` removes N attention
  heads from every layer by slicing the query/key/value rows and the output projection's columns
  (transformers 5 has no ``prune_heads``). The same heads go in every layer, the N whose
  output-projection weights have the smallest norm summed over layers, because T5 shares one
  relative-position bias table (one column per head) between its layers. Parameter counts and
  FLOPs follow, since both are read off the pruned modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from engines.errors import UnsupportedError
from engines.optimizations.targets import configs, encoder_linears, layer_list

UNSTRUCTURED_NOTE = (
    "zeros are stored densely and dense kernels multiply them: no speed-up is expected, and FLOPs "
    "are counted dense"
)
SEMI_STRUCTURED_NOTE = (
    "2:4 sparse kernels are measured as they run, never assumed faster (on an H100, cuSPARSELt "
    "ran ESM2-650M at 0.41x dense speed); FLOPs are counted dense"
)


def parse_prune(prune: str) -> tuple[str, float | None]:
    """``"unstructured:0.5"`` → ``("unstructured", 0.5)``; ``"2:4"`` → ``("2:4", None)``."""
    if prune.startswith("unstructured:"):
        return "unstructured", float(prune.partition(":")[2])
    return prune, None


# ---------------------------------------------------------------------------------------------
# Unstructured magnitude pruning
# ---------------------------------------------------------------------------------------------


def _smallest(values: torch.Tensor, count: int) -> torch.Tensor:
    """Boolean mask of exactly ``count`` smallest entries of a flat tensor (ties: first ones)."""
    threshold = values.kthvalue(count).values
    mask = values < threshold
    missing = count - int(mask.sum())
    if missing > 0:
        ties = (values == threshold).nonzero().flatten()[:missing]
        mask[ties] = True
    return mask


@torch.no_grad()
def prune_unstructured(model: nn.Module, sparsity: float) -> dict[str, Any]:
    """Zero the ``sparsity`` fraction of smallest-magnitude weights of each encoder Linear."""
    if not 0.0 <= sparsity <= 1.0:
        raise UnsupportedError(f"--prune unstructured:{sparsity}: sparsity must be in [0, 1]")
    targets = encoder_linears(model)
    zeros = total = 0
    for _, linear in targets:
        weight = linear.weight.data
        count = round(sparsity * weight.numel())
        if count > 0:
            flat = weight.reshape(-1)
            mask = _smallest(flat.abs().float(), count)
            flat.masked_fill_(mask, 0)
            if flat.data_ptr() != weight.data_ptr():  # reshape copied: write back
                weight.copy_(flat.view_as(weight))
        zeros += int((weight == 0).sum())
        total += weight.numel()
    return {
        "method": "unstructured magnitude, per layer",
        "target_sparsity": sparsity,
        "achieved_sparsity": zeros / total if total else None,
        "layers": len(targets),
        "weights": total,
        "zeros": zeros,
        "note": UNSTRUCTURED_NOTE,
    }


# ---------------------------------------------------------------------------------------------
# 2:4 semi-structured sparsity
# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def mask_2_4(model: nn.Module) -> dict[str, Any]:
    """Keep the two largest-magnitude weights of every four along the input dimension.

    Runs on any device (the mask alone gains nothing); :func:`to_semi_structured` then stores the
    weights in the compressed form that 2:4 kernels use."""
    masked = skipped = 0
    zeros = total = 0
    for _, linear in encoder_linears(model):
        weight = linear.weight.data
        if weight.shape[1] % 4:
            skipped += 1
            continue
        groups = weight.view(-1, 4)
        keep = groups.abs().float().topk(2, dim=1).indices
        mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(1, keep, True)
        groups.masked_fill_(~mask, 0)
        masked += 1
        zeros += int((weight == 0).sum())
        total += weight.numel()
    return {
        "method": "2:4 semi-structured (2 largest |w| of every 4 inputs kept)",
        "layers": masked,
        "layers_skipped": skipped,
        "achieved_sparsity": zeros / total if total else None,
        "note": SEMI_STRUCTURED_NOTE,
    }


def semi_structured_backend(device: torch.device) -> str:
    """The 2:4 backend to use on ``device``: cuSPARSELt when torch has it, else CUTLASS (8.x)."""
    if device.type != "cuda":
        raise UnsupportedError(
            "--prune 2:4 needs a CUDA GPU (compute capability 8.0+); on CPU use --prune "
            "unstructured:0.5 (measured as it is: dense kernels gain nothing)"
        )
    major, minor = torch.cuda.get_device_capability(device)
    if major < 8:
        raise UnsupportedError(
            f"--prune 2:4 needs compute capability 8.0 or newer; "
            f"{torch.cuda.get_device_name(device)} is {major}.{minor}"
        )
    if torch.backends.cusparselt.is_available():
        return "cusparselt"
    if major == 8:
        return "cutlass"
    raise UnsupportedError(
        f"--prune 2:4 on compute capability {major}.{minor} needs torch built with cuSPARSELt "
        "(the CUTLASS 2:4 kernels support only 8.x); this torch has no cuSPARSELt"
    )


@torch.no_grad()
def to_semi_structured(model: nn.Module, device: torch.device) -> dict[str, Any]:
    """Convert every 2:4-masked encoder Linear weight with ``to_sparse_semi_structured``.

    Layers whose shape or dtype the backend refuses stay dense and are counted as skipped.
    UNTESTED here: written to torch's documented API, run only where a suitable GPU is present."""
    from torch.sparse import SparseSemiStructuredTensor, to_sparse_semi_structured

    backend = semi_structured_backend(device)
    SparseSemiStructuredTensor._FORCE_CUTLASS = backend == "cutlass"
    converted = 0
    refused: list[str] = []
    for name, linear in encoder_linears(model):
        try:
            sparse = to_sparse_semi_structured(linear.weight.data.contiguous())
        except (RuntimeError, ValueError) as exc:
            refused.append(f"{name}: {str(exc).splitlines()[0][:120]}")
            continue
        linear.weight = nn.Parameter(sparse, requires_grad=False)
        converted += 1
    return {
        "backend": backend,
        "implementation": "torch.sparse.to_sparse_semi_structured",
        "layers_converted": converted,
        "layers_refused": len(refused),
        "refused_examples": refused[:3],
    }


# ---------------------------------------------------------------------------------------------
# Structural pruning: layers and heads
# ---------------------------------------------------------------------------------------------


def _set_config(model: nn.Module, names: Sequence[str], value: int) -> None:
    for config in configs(model):
        for name in names:
            if hasattr(config, name):
                setattr(config, name, value)


def _linear_like(linear: nn.Linear, weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Linear:
    """A new Linear holding ``weight`` (out × in) and ``bias``, same device, dtype and grad flag."""
    out_features, in_features = weight.shape
    new = nn.utils.skip_init(
        nn.Linear,
        in_features,
        out_features,
        bias=bias is not None,
        device=weight.device,
        dtype=weight.dtype,
    )
    grad = linear.weight.requires_grad
    new.weight = nn.Parameter(weight.clone(), requires_grad=grad)
    if bias is not None:
        new.bias = nn.Parameter(bias.clone(), requires_grad=grad)
    return new


def _slice_rows(linear: nn.Linear, rows: torch.Tensor) -> nn.Linear:
    bias = linear.bias.data[rows] if linear.bias is not None else None
    return _linear_like(linear, linear.weight.data[rows], bias)


def _slice_columns(linear: nn.Linear, columns: torch.Tensor) -> nn.Linear:
    bias = linear.bias.data if linear.bias is not None else None
    return _linear_like(linear, linear.weight.data[:, columns], bias)


def _contact_heads(model: nn.Module) -> list[nn.Module]:
    """ESM's contact-prediction heads: a Linear over (layer, head) attention maps, not run."""
    return [
        module
        for name, module in model.named_modules()
        if name.split(".")[-1] == "contact_head"
        and isinstance(getattr(module, "regression", None), nn.Linear)
    ]


@torch.no_grad()
def _keep_contact_inputs(model: nn.Module, keep: torch.Tensor) -> None:
    """Keep the contact head's inputs in step with the remaining layers × heads."""
    for head in _contact_heads(model):
        regression = head.get_submodule("regression")
        assert isinstance(regression, nn.Linear)
        sliced = _slice_columns(regression, keep.to(regression.weight.device))
        head.register_module("regression", sliced)
        if hasattr(head, "in_features"):
            setattr(head, "in_features", len(keep))  # noqa: B010


def _heads_per_layer(model: nn.Module) -> int:
    return _attention(layer_list(model)[2][0]).heads


@torch.no_grad()
def drop_layers(model: nn.Module, count: int) -> dict[str, Any]:
    """Remove the last ``count`` encoder layers (at least one must remain)."""
    owner, attr, layers = layer_list(model)
    total = len(layers)
    if not 0 < count < total:
        raise UnsupportedError(
            f"--prune-layers {count}: the model has {total} layers and at least one must remain "
            f"(use 1 to {total - 1})"
        )
    heads = _heads_per_layer(model)
    setattr(owner, attr, nn.ModuleList(list(layers)[: total - count]))
    _set_config(model, ("num_hidden_layers", "num_layers"), total - count)
    _keep_contact_inputs(model, torch.arange((total - count) * heads))
    return {
        "removed": count,
        "layers_before": total,
        "layers_after": total - count,
        "which": "last",
    }


@dataclass
class _Attention:
    """One self-attention layer, as the parts head pruning edits."""

    module: nn.Module  # holds query/key/value and the head-count attributes
    query: str
    key: str
    value: str
    out_owner: nn.Module
    out: str
    heads_attr: str
    width_attr: str
    head_dim: int

    @property
    def heads(self) -> int:
        return int(getattr(self.module, self.heads_attr))


def _attention(layer: nn.Module) -> _Attention:
    attention = getattr(layer, "attention", None)
    if attention is not None and hasattr(attention, "self") and hasattr(attention, "output"):
        inner = attention.self  # ESM, BERT
        return _Attention(
            inner,
            "query",
            "key",
            "value",
            attention.output,
            "dense",
            "num_attention_heads",
            "all_head_size",
            int(inner.attention_head_size),
        )
    sublayers = getattr(layer, "layer", None)
    if sublayers is not None and hasattr(sublayers[0], "SelfAttention"):
        inner = sublayers[0].SelfAttention  # T5
        return _Attention(
            inner, "q", "k", "v", inner, "o", "n_heads", "inner_dim", int(inner.key_value_proj_dim)
        )
    raise UnsupportedError(
        f"--prune-heads: cannot find the self-attention of {type(layer).__name__} "
        "(known: ESM, ProtST, BERT, T5)"
    )


def _head_rows(heads: Sequence[int], head_dim: int, device: torch.device) -> torch.Tensor:
    return torch.cat([torch.arange(h * head_dim, (h + 1) * head_dim) for h in heads]).to(device)


@torch.no_grad()
def drop_heads(model: nn.Module, count: int) -> dict[str, Any]:
    """Remove ``count`` attention heads from every layer (at least one must remain)."""
    layers = list(layer_list(model)[2])
    parts = [_attention(layer) for layer in layers]
    heads = parts[0].heads
    if any(p.heads != heads for p in parts):
        raise UnsupportedError("--prune-heads: the layers have different head counts already")
    if not 0 < count < heads:
        raise UnsupportedError(
            f"--prune-heads {count}: each layer has {heads} heads and at least one must remain "
            f"(use 1 to {heads - 1})"
        )
    head_dim = parts[0].head_dim
    scores = torch.zeros(heads)
    for p in parts:
        out_weight = getattr(p.out_owner, p.out).weight.detach().float()
        per_head = out_weight.view(out_weight.shape[0], heads, head_dim)
        scores += per_head.pow(2).sum(dim=(0, 2)).sqrt().cpu()
    removed = sorted(int(h) for h in scores.argsort()[:count])
    kept = [h for h in range(heads) if h not in removed]
    for p in parts:
        device = getattr(p.module, p.query).weight.device
        rows = _head_rows(kept, head_dim, device)
        for name in (p.query, p.key, p.value):
            setattr(p.module, name, _slice_rows(getattr(p.module, name), rows))
        setattr(p.out_owner, p.out, _slice_columns(getattr(p.out_owner, p.out), rows))
        setattr(p.module, p.heads_attr, len(kept))
        setattr(p.module, p.width_attr, len(kept) * head_dim)
        bias_table = getattr(p.module, "relative_attention_bias", None)
        if isinstance(bias_table, nn.Embedding):  # T5: one column of position bias per head
            columns = torch.tensor(kept, device=bias_table.weight.device)
            bias_table.weight = nn.Parameter(
                bias_table.weight.data[:, columns].clone(),
                requires_grad=bias_table.weight.requires_grad,
            )
            bias_table.embedding_dim = len(kept)
    _keep_contact_inputs(
        model, torch.tensor([layer * heads + h for layer in range(len(layers)) for h in kept])
    )
    return {
        "removed_per_layer": count,
        "heads_before": heads,
        "heads_after": len(kept),
        "removed_heads": removed,
        "which": "smallest output-projection norm summed over layers, the same in every layer",
        "implementation": "slices query/key/value rows and output-projection columns",
    }
