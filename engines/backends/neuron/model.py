"""One module for the whole run: each call goes to the traced model of exactly its shape."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from engines.errors import PlmprofError

from .buckets import BucketShape


class BucketShapeError(PlmprofError):
    """A call whose shape no bucket was compiled for (the inputs were not padded to a bucket)."""


class NeuronCallError(RuntimeError):
    """A traced Neuron module failed while running (the runtime's own error, in one line)."""


class BucketedNeuronModel(nn.Module):
    """Holds one traced module per :class:`BucketShape` and dispatches on the input's shape.

    Called like the Hugging Face model it replaces, ``model(input_ids=, attention_mask=)``, with
    CPU tensors; returns what the traced graph returns (``last_hidden_state`` for an encoder).
    Traced modules that are ``nn.Module``\\ s are registered as children (``traced``), so they
    show in ``modules()``; others (a ``DataParallel`` wrapper from the SDK) are held as given.
    """

    def __init__(
        self, modules: Mapping[BucketShape, Callable[..., Any]], *, data_parallel: bool = False
    ) -> None:
        super().__init__()
        if not modules:
            raise ValueError("a bucketed Neuron model needs at least one bucket")
        self.data_parallel = data_parallel
        self._by_shape: dict[tuple[int, int], Callable[..., Any]] = {
            (shape.rows, shape.tokens): module for shape, module in modules.items()
        }
        self.traced = nn.ModuleDict(
            {s.label: m for s, m in sorted(modules.items()) if isinstance(m, nn.Module)}
        )

    @property
    def shapes(self) -> list[BucketShape]:
        return sorted(BucketShape(rows, tokens) for rows, tokens in self._by_shape)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any:
        if input_ids.dim() != 2 or tuple(attention_mask.shape) != tuple(input_ids.shape):
            raise BucketShapeError(
                f"Neuron model inputs must be two [rows, tokens] tensors of one shape; got "
                f"input_ids {list(input_ids.shape)} and attention_mask {list(attention_mask.shape)}"
            )
        rows, tokens = (int(n) for n in input_ids.shape)
        module = self._by_shape.get((rows, tokens))
        if module is None:
            compiled = ", ".join(s.label for s in self.shapes)
            raise BucketShapeError(
                f"no Neuron model was compiled for inputs of {rows}x{tokens} (rows x tokens); "
                f"compiled buckets: {compiled}. Inputs must be padded to a bucket's length and "
                "batch size"
            )
        try:
            return module(input_ids, attention_mask)
        except torch.jit.Error as exc:  # TorchScript's first line says only that something failed
            raise NeuronCallError(
                f"Neuron model call on {rows}x{tokens} failed: {_script_error(exc)}"
            ) from exc


def _script_error(exc: BaseException) -> str:
    """The line of a TorchScript interpreter error that says what went wrong (its last one)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1][:300] if lines else type(exc).__name__
