"""torch.compile (inductor) with compile time and recompilations reported apart from latency.

The model is wrapped after it is built and optimized; compilation itself happens on the first call
of each input shape, so :func:`warm_compile` runs every distinct batch shape once, before warm-up
and the measured loop, and times those calls as compile time (each includes one execution).

With at most :data:`STATIC_SHAPE_LIMIT` distinct shapes (fixed batches of one length, or length
buckets) each shape gets its own static graph (``dynamic=False``): no recompilation can happen in
the measured loop. With more shapes, dynamo's automatic dynamic shapes compile one symbolic graph
after the first recompilation. Recompilations are counted from dynamo's own compilation metrics
(entries with a ``recompile_reason``) and frame counters.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import torch
from torch import nn

from engines.failures import CompileFailedError
from engines.messages import Compiled, Compiling, WorkerMessage

STATIC_SHAPE_LIMIT = 8
COMPILERS = ("g++", "c++", "clang++")

Send = Callable[[WorkerMessage], None]


class ModelInputs(Protocol):
    """A padded ``TensorBatch`` or a packed row (``PackedTensors``): its shape is its token ids'."""

    @property
    def input_ids(self) -> torch.Tensor: ...


Inputs = TypeVar("Inputs", bound=ModelInputs)
Call = Callable[[Any], object]


def cpu_compiler() -> str | None:
    """The C++ compiler inductor's CPU backend would use, or None."""
    for name in COMPILERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def distinct_shapes(batches: Sequence[Inputs]) -> list[Inputs]:
    """The first batch of every distinct input shape, in order of first appearance."""
    seen: dict[tuple[int, ...], Inputs] = {}
    for batch in batches:
        seen.setdefault(tuple(batch.input_ids.shape), batch)
    return list(seen.values())


def _dynamo() -> Any:
    import torch._dynamo.utils as dynamo_utils

    return dynamo_utils


def _frames() -> int:
    return int(_dynamo().counters["frames"]["total"])


def _graph_breaks() -> int:
    return int(sum(_dynamo().counters["graph_break"].values()))


def _recompile_reasons() -> list[str]:
    return [
        str(m.recompile_reason)
        for m in _dynamo().get_compilation_metrics()
        if getattr(m, "recompile_reason", None)
    ]


def _dynamo_seconds() -> float:
    return float(
        sum(m.entire_frame_compile_time_s or 0.0 for m in _dynamo().get_compilation_metrics())
    )


@dataclass
class CompileState:
    mode: str
    dynamic: bool | None
    shapes: int
    backend: str = "inductor"
    seconds: float | None = None
    dynamo_seconds: float | None = None
    recompilations_warmup: int = 0
    recompilations_measured: int | None = None
    graph_breaks: int = 0
    frames: int = 0
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def recompilations(self) -> int:
        return self.recompilations_warmup + (self.recompilations_measured or 0)

    def report(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "backend": self.backend,
            "dynamic": "static per shape" if self.dynamic is False else "automatic",
            "shapes": self.shapes,
            "compile_s": self.seconds,
            "dynamo_compile_s": self.dynamo_seconds,
            "compile_s_note": "first call of each distinct shape, one execution included; "
            "never part of latency",
            "recompilations_warmup": self.recompilations_warmup,
            "recompilations_measured": self.recompilations_measured,
            "graph_breaks": self.graph_breaks,
            "recompile_reasons": self.reasons[:3],
            "notes": list(self.notes),
        }


def compile_state(
    mode: str, batches: Sequence[ModelInputs], device: torch.device, backend: str = "inductor"
) -> CompileState:
    """A fresh dynamo cache and the compile settings for ``batches``' shapes: static graphs per
    shape when they are few, automatic dynamic shapes otherwise. ``backend``: inductor, or
    ``hpu_backend`` on Gaudi."""
    import torch._dynamo as dynamo

    dynamo.reset()  # a fresh cache: every run compiles (and counts) its own graphs
    _dynamo().clear_compilation_metrics()
    shapes = len(distinct_shapes(batches))
    dynamic = False if shapes <= STATIC_SHAPE_LIMIT else None
    state = CompileState(mode=mode, dynamic=dynamic, shapes=shapes, backend=backend)
    if dynamic is None:
        state.notes.append(
            f"{shapes} distinct batch shapes: automatic dynamic shapes (use --buckets for static "
            "graphs)"
        )
    if mode == "reduce-overhead" and device.type != "cuda":
        state.notes.append("reduce-overhead adds CUDA graphs; on CPU it compiles like default")
    return state


def wrap(model: nn.Module, state: CompileState) -> nn.Module:
    """``model`` under ``torch.compile`` as ``state`` sets it; nothing is compiled until
    :func:`warm_compile`."""
    mode = state.mode
    try:
        compiled = torch.compile(
            model,
            backend=state.backend,
            mode=None if mode == "default" else mode,
            dynamic=state.dynamic,
        )
        assert isinstance(compiled, nn.Module)
    except Exception as exc:
        raise CompileFailedError(f"torch.compile (mode {mode}) failed: {_first_line(exc)}") from exc
    return compiled


def shape_label(batch: ModelInputs) -> str:
    shape = tuple(batch.input_ids.shape)
    if len(shape) == 1:
        return f"packed row of {shape[0]} tokens"
    return "batch " + "x".join(str(n) for n in shape)


def warm_compile(
    index: int, state: CompileState, batches: Sequence[ModelInputs], call: Call, send: Send
) -> None:
    """Run each distinct shape once (that is when inductor compiles), sending ``Compiling`` per
    shape and ``Compiled`` at the end."""
    shapes = distinct_shapes(batches)
    total = 0.0
    for done, batch in enumerate(shapes):
        label = shape_label(batch)
        send(Compiling(index, f"compiling {label}", done, len(shapes)))
        began = time.perf_counter()
        try:
            call(batch)
        except (MemoryError, torch.OutOfMemoryError):
            raise
        except Exception as exc:
            raise CompileFailedError(
                f"torch.compile (mode {state.mode}) failed on {label}: {_first_line(exc)}"
            ) from exc
        total += time.perf_counter() - began
    send(Compiling(index, "compiled", len(shapes), len(shapes)))
    state.seconds = total
    state.dynamo_seconds = _dynamo_seconds()
    state.reasons = _recompile_reasons()
    state.recompilations_warmup = len(state.reasons)
    state.graph_breaks = _graph_breaks()
    state.frames = _frames()
    send(Compiled(index, total, state.recompilations_warmup))


def after_measure(index: int, state: CompileState, send: Send) -> None:
    """Count frames compiled during the measured loop (none expected) and report them."""
    state.recompilations_measured = _frames() - state.frames
    if state.recompilations_measured:
        state.reasons = _recompile_reasons()
        state.notes.append(
            f"{state.recompilations_measured} frame(s) compiled during the measured loop: their "
            "compile time is inside the latency figures"
        )
        send(Compiled(index, state.seconds or 0.0, state.recompilations))


def _first_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0][:300]
