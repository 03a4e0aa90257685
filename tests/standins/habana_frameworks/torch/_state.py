"""The stand-in bridge's state: execution mode, simulated device clock, graphs, memory.

Device work is simulated from what the model computes: when an outermost module call returns, its
output's token count times ``SECONDS_PER_TOKEN`` is queued. In lazy mode queued work is only
collected; ``mark_step()`` hands it to the device (and compiles the collected graph if its shape
signature is new). ``synchronize()`` is the only thing that advances ``CLOCK.now`` (by the work
the device was given). Tests read ``CLOCK.monotonic`` as the worker's host clock.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

SECONDS_PER_TOKEN = 1e-5
POOL_BYTES = 94 * 2**30  # what Limit reports: the pool reserved at start-up


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.synchronized = 0

    def monotonic(self) -> float:
        return self.now


class State:
    def __init__(self, mode_value: str | None) -> None:
        self.mode_value = mode_value
        self.lazy = mode_value == "1"
        self.clock = Clock()
        self.collected_s = 0.0  # lazy: collected, not yet given to the device
        self.queued_s = 0.0  # given to the device, not yet waited for
        self.signature: list[tuple[str, tuple[int, ...]]] = []
        self.graphs: set[tuple[tuple[str, tuple[int, ...]], ...]] = set()
        self.compilations = 0
        self.mark_steps = 0
        self.depth = 0
        self.in_use = 0
        self.max_in_use = 0
        self.num_allocs = 0
        self.hpu_graph_captures: list[tuple[int, ...]] = []
        self.handles: list[Any] = []

    # --- what the model computes --------------------------------------------------------------

    def before_module(self, module: nn.Module, args: Any) -> None:
        del args
        if not _skipped(module):
            self.depth += 1

    def after_module(self, module: nn.Module, args: Any, output: Any) -> None:
        del args
        if _skipped(module):
            return
        self.depth -= 1
        tensor = _first_tensor(output)
        if tensor is not None:
            self.signature.append((type(module).__name__, tuple(tensor.shape)))
        if self.depth == 0 and tensor is not None:
            self.call_done(tensor)

    def call_done(self, output: torch.Tensor) -> None:
        tokens = int(output.shape[0] * output.shape[1]) if output.dim() >= 2 else output.numel()
        work = tokens * SECONDS_PER_TOKEN
        self.allocate(output.numel() * output.element_size())
        if self.lazy:
            self.collected_s += work
        else:
            self.compile_signature()
            self.queued_s += work

    def compile_signature(self) -> None:
        key = tuple(self.signature)
        self.signature = []
        if key and key not in self.graphs:
            self.graphs.add(key)
            self.compilations += 1

    def allocate(self, size: int) -> None:
        self.num_allocs += 1
        self.in_use = size
        self.max_in_use = max(self.max_in_use, self.in_use)

    # --- the bridge's calls -------------------------------------------------------------------

    def mark_step(self) -> None:
        if not self.lazy:
            raise RuntimeError("stand-in bridge: mark_step() called in eager mode")
        self.mark_steps += 1
        self.compile_signature()
        self.queued_s += self.collected_s
        self.collected_s = 0.0

    def synchronize(self) -> None:
        self.clock.synchronized += 1
        self.clock.now += self.queued_s
        self.queued_s = 0.0

    def compiled_call_done(self, output: Any) -> None:
        tensor = _first_tensor(output)
        if tensor is not None:
            self.call_done(tensor)


def _skipped(module: nn.Module) -> bool:
    """Calls not simulated here: tracing under dynamo, and torch.compile's wrapper module (its
    compiled graph accounts for its work through the hpu_backend)."""
    from torch._dynamo.eval_frame import OptimizedModule

    return torch.compiler.is_compiling() or isinstance(module, OptimizedModule)


def _first_tensor(output: Any) -> torch.Tensor | None:
    if isinstance(output, torch.Tensor):
        return output
    for name in ("last_hidden_state",):
        value = getattr(output, name, None)
        if isinstance(value, torch.Tensor):
            return value
    if isinstance(output, tuple | list) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    return None


STATE = State(os.environ.get("PT_HPU_LAZY_MODE"))  # read once, at import, like the bridge


def install() -> None:
    pre = nn.modules.module.register_module_forward_pre_hook(STATE.before_module)
    post = nn.modules.module.register_module_forward_hook(STATE.after_module)
    STATE.handles = [pre, post]


def uninstall() -> None:
    for handle in STATE.handles:
        handle.remove()
    STATE.handles = []
