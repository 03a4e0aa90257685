"""Reading one figure from a device-management library (NVML, HLML): a failed query or a value of
the wrong type is ``None`` ("not available"), never an exception."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def query(call: Callable[[], T]) -> T | None:
    """The value of one query, or ``None`` when it fails in any way."""
    try:
        return call()
    except Exception:
        return None


def as_float(value: Any, divisor: float = 1.0) -> float | None:
    """A number the library returned, divided by ``divisor``; ``None`` for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) / divisor


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def as_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None


def describe(error: BaseException) -> str:
    text = str(error)
    return text if text else type(error).__name__
