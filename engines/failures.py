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


def classify(exc: BaseException) -> tuple[Status, str]:
    text = f"{type(exc).__name__}: {exc}".strip()
    first_line = text.splitlines()[0][:300]
    if isinstance(exc, MemoryError) or any(m in text.lower() for m in _OOM_MARKERS):
        return Status.OOM, f"out of memory: {first_line}"
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
