"""Reading values from saved or reported data that may be old, damaged or hand-edited: each
reader returns the value in the type asked for, or ``None`` for anything else. The one home of
this idea (Result sections, reports, comparisons and telemetry parsers use it)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def number(value: Any, *, text: bool = False) -> float | None:
    """A finite real number (``bool`` is not one); with ``text``, also a number written as text
    (as some tools print them)."""
    if isinstance(value, str) and text:
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def integer(value: Any, *, text: bool = False) -> int | None:
    """A whole number (a float that is whole counts; ``bool`` does not)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    read = number(value, text=text)
    return int(read) if read is not None and read.is_integer() else None


def text(value: Any) -> str | None:
    """Non-empty text (bytes are decoded as UTF-8, as some C libraries return names)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) and value else None


def flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def table(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def get(data: Any, *path: str) -> Any:
    """``data[path[0]][path[1]]…``, or None where a step is not a table or lacks the key."""
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def describe(value: Any) -> str:
    """A short rendering of a bad value for a message."""
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
