"""STAND-IN for ``torch_neuronx``: not the AWS SDK, and nothing here runs on Neuron.

It keeps the part of ``torch_neuronx.trace``'s contract that plmprof relies on, so the Neuron
engine's run path can be tested on any machine:

- ``trace(func, example_inputs, *, compiler_workdir, compiler_args, cpu_backend=False)`` runs the
  CPU model (``torch.jit.trace``) and returns a ``torch.jit.ScriptModule`` that can be saved with
  ``torch.jit.save`` and loaded with ``torch.jit.load``;
- the returned module raises on any input shape other than the one it was traced with, as a
  compiled Neuron graph does, so a bucketing mistake fails the test;
- ``DataParallel(module, device_ids=None, dim=0, set_dynamic_batching=True)`` splits dim 0 over
  ``STANDIN_CORES`` cores and requires each chunk to match the traced batch (dynamic batching
  off, as plmprof asks).

Every call is recorded in ``TRACE_CALLS`` / ``DATA_PARALLEL_CALLS`` for assertions.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

__version__ = "0.0.0+standin"
STANDIN_CORES = 2
TRACE_CALLS: list[dict[str, Any]] = []
DATA_PARALLEL_CALLS: list[dict[str, Any]] = []
FAIL_WITH: list[str] = []  # put a message here to make the next trace fail like neuronx-cc


class ShapeGuardStandIn(nn.Module):
    """A traced CPU graph that accepts only the shape it was traced with."""

    def __init__(self, traced: torch.jit.ScriptModule, rows: int, tokens: int) -> None:
        super().__init__()
        self.traced = traced
        self.rows = rows
        self.tokens = tokens

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if (
            input_ids.size(0) != self.rows
            or input_ids.size(1) != self.tokens
            or attention_mask.size(0) != self.rows
            or attention_mask.size(1) != self.tokens
        ):
            raise RuntimeError(
                "stand-in Neuron model: input shape differs from the traced shape "
                + str(self.rows)
                + "x"
                + str(self.tokens)
            )
        return self.traced(input_ids, attention_mask)


def trace(
    func: nn.Module,
    example_inputs: tuple[torch.Tensor, torch.Tensor],
    *,
    compiler_workdir: str | None = None,
    compiler_args: list[str] | None = None,
    cpu_backend: bool = False,
    **options: Any,
) -> torch.jit.ScriptModule:
    ids, mask = example_inputs
    TRACE_CALLS.append(
        {
            "shape": tuple(ids.shape),
            "mask_has_padding": bool((mask == 0).any()),
            "compiler_workdir": compiler_workdir,
            "compiler_args": list(compiler_args or []),
            "cpu_backend": cpu_backend,
            "options": options,
        }
    )
    if FAIL_WITH:
        raise RuntimeError(FAIL_WITH.pop())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(func, example_inputs, check_trace=False)
    guard = ShapeGuardStandIn(traced, int(ids.shape[0]), int(ids.shape[1]))
    return torch.jit.script(guard)


class DataParallelStandIn(nn.Module):
    """Splits dim 0 into ``STANDIN_CORES`` chunks and runs each through the traced module."""

    def __init__(
        self,
        module: Any,
        device_ids: list[int] | None = None,
        dim: int = 0,
        set_dynamic_batching: bool = True,
    ) -> None:
        super().__init__()
        DATA_PARALLEL_CALLS.append(
            {"device_ids": device_ids, "dim": dim, "set_dynamic_batching": set_dynamic_batching}
        )
        self.module = module
        self.cores = len(device_ids) if device_ids else STANDIN_CORES
        self.dim = dim

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        ids = input_ids.chunk(self.cores, self.dim)
        masks = attention_mask.chunk(self.cores, self.dim)
        return torch.cat([self.module(i, m) for i, m in zip(ids, masks, strict=True)], self.dim)


DataParallel = DataParallelStandIn


def reset() -> None:
    TRACE_CALLS.clear()
    DATA_PARALLEL_CALLS.clear()
    FAIL_WITH.clear()
