"""Map an exception raised inside a worker to a status and a message a user understands."""

from __future__ import annotations

from engines.errors import InvalidInputError, PlmprofError, UnsupportedError
from engines.messages import Status

# "failed to map segment": a shared library could not be mapped under the address-space cap.
_OOM_MARKERS = (
    "out of memory",
    "can't allocate memory",
    "cannot allocate memory",
    "failed to map segment",
)
_COMPILE_MARKERS = ("torch._dynamo", "torch._inductor", "BackendCompilerFailed")


class CompileFailedError(PlmprofError):
    """torch.compile (or another graph compiler) failed on the model: status ``compile_failed``."""


def classify(exc: BaseException, *, in_profiler: bool = False) -> tuple[Status, str]:
    """The one policy turning an exception into a run status and a message a user understands,
    used by the worker (the model raised) and by the parent (``in_profiler``: the profiler
    raised before it could make a Result: the app, the run command, a sweep's executor).

    Ctrl-C is ``interrupted``; running out of memory (MemoryError, or a message saying so) is
    ``oom``; ``UnsupportedError`` is ``unsupported``; a graph compiler's failure is
    ``compile_failed``; any other error is ``error`` with its first line."""
    text = f"{type(exc).__name__}: {exc}".strip()
    first_line = text.splitlines()[0][:300]
    if isinstance(exc, KeyboardInterrupt):
        return Status.INTERRUPTED, "stopped by the user"
    if isinstance(exc, MemoryError) or any(m in text.lower() for m in _OOM_MARKERS):
        where = " in the profiler itself" if in_profiler else ""
        return Status.OOM, f"out of memory{where}: {first_line}"
    if isinstance(exc, UnsupportedError):
        return Status.UNSUPPORTED, str(exc)
    if isinstance(exc, CompileFailedError):
        return Status.COMPILE_FAILED, str(exc)
    if isinstance(exc, InvalidInputError | PlmprofError):
        return Status.ERROR, str(exc)
    module = type(exc).__module__
    if any(m in module or m in text for m in _COMPILE_MARKERS):
        return Status.COMPILE_FAILED, f"torch.compile failed: {first_line}"
    return Status.ERROR, first_line
