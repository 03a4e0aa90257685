"""The bytes a model's weights take as it runs: after precision, int8 and pruning, by dtype.

Read from the module's state (parameters, buffers and the packed weights that int8 modules keep
outside ``parameters()``), so an int8 model counts one byte per quantized weight and a 2:4
semi-structured weight its compressed values plus metadata. Unstructured pruning stores its zeros
densely: it changes no byte here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch loads only where a model is measured
    import torch
    from torch import nn


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    """The plain tensors in one state entry: a tensor; the inner tensors of a tensor subclass
    (torchao's int8 weights, 2:4 semi-structured weights: what ``__tensor_flatten__`` names); or
    each tensor of an int8 module's packed (weight, bias) pair."""
    import torch

    if isinstance(value, torch.Tensor):
        if type(value) in (torch.Tensor, torch.nn.Parameter) or not hasattr(
            value, "__tensor_flatten__"
        ):
            yield value
            return
        names, _ = value.__tensor_flatten__()
        for name in names:
            yield from _tensors(getattr(value, name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _tensors(item)


def weight_bytes(model: nn.Module) -> dict[str, Any]:
    """``{"bytes": total, "by_dtype": {"torch.float32": ..., "torch.qint8": ...}}``."""
    by_dtype: dict[str, int] = {}
    seen: set[int] = set()
    for value in model.state_dict(keep_vars=True).values():
        for tensor in _tensors(value):
            if tensor.is_meta or id(tensor) in seen:
                continue
            seen.add(id(tensor))
            key = str(tensor.dtype)
            by_dtype[key] = by_dtype.get(key, 0) + tensor.numel() * tensor.element_size()
    return {"bytes": sum(by_dtype.values()), "by_dtype": dict(sorted(by_dtype.items()))}
