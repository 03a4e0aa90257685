"""The one exception-to-status policy (engines.failures.classify)."""

from __future__ import annotations

import pytest

from engines.errors import InvalidInputError, UnsupportedError
from engines.failures import CompileFailedError, classify
from engines.messages import Status


@pytest.mark.parametrize(
    ("exc", "status", "message"),
    [
        (KeyboardInterrupt(), Status.INTERRUPTED, "stopped by the user"),
        (MemoryError("no room"), Status.OOM, "out of memory: MemoryError: no room"),
        (RuntimeError("CUDA out of memory. Tried"), Status.OOM, "out of memory: RuntimeError"),
        (UnsupportedError("no flash here"), Status.UNSUPPORTED, "no flash here"),
        (CompileFailedError("inductor died"), Status.COMPILE_FAILED, "inductor died"),
        (InvalidInputError("bad file"), Status.ERROR, "bad file"),
        (ValueError("line one\nline two"), Status.ERROR, "ValueError: line one"),
    ],
)
def test_each_exception_has_one_status(exc: BaseException, status: Status, message: str) -> None:
    got_status, got_message = classify(exc)
    assert got_status == status and got_message.startswith(message)
    assert "line two" not in got_message


def test_in_the_profiler_an_oom_says_where() -> None:
    status, message = classify(MemoryError("x"), in_profiler=True)
    assert status == Status.OOM and message.startswith("out of memory in the profiler itself")
