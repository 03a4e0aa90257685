"""Reading one figure from a device-management library (NVML, HLML): a failed query or a value of
the wrong type is ``None`` ("not available"), never an exception."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from profilers.coerce import integer, number, text

T = TypeVar("T")


def query(call: Callable[[], T]) -> T | None:
    """The value of one query, or ``None`` when it fails in any way."""
    try:
        return call()
    except Exception:
        return None


def as_float(value: Any, divisor: float = 1.0) -> float | None:
    """A number the library returned, divided by ``divisor``; ``None`` for anything else."""
    read = number(value)
    return None if read is None else read / divisor


def as_int(value: Any) -> int | None:
    return integer(value)


def as_text(value: Any) -> str | None:
    return text(value)


def describe(error: BaseException) -> str:
    said = str(error)
    return said if said else type(error).__name__
