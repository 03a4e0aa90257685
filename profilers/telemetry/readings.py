"""Reading a device-management library (NVML, HLML).

One figure: a failed query or a value of the wrong type is ``None`` ("not available"), never an
exception. The library: ``LibrarySampler`` opens it once, on first use, and samples each device it
opened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from profilers.coerce import integer, number, text

T = TypeVar("T")
S = TypeVar("S")


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


class LibrarySampler(Generic[S]):
    """Samples every device a library opened. ``available`` and ``reason`` trigger the one-time
    opening (``_open``), which sets ``_opened``, the ``(index, handle)`` pairs in ``_handles`` and,
    when some or all devices cannot be used, ``_reason``. ``close`` shuts the library down
    (``_shut``); a later ``sample()`` opens it again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tried = False
        self._opened = False
        self._reason: str | None = None
        self._handles: list[tuple[int, Any]] = []

    @property
    def available(self) -> bool:
        self._ensure()
        return self._opened and bool(self._handles)

    @property
    def reason(self) -> str | None:
        self._ensure()
        return self._reason

    def _ensure(self) -> None:
        with self._lock:
            if self._tried:
                return
            self._tried = True
            self._open()

    def _open(self) -> None:
        raise NotImplementedError

    def _shut(self) -> None:
        raise NotImplementedError

    def sample(self) -> tuple[S, ...]:
        """One reading of each device; an empty tuple when the library is not available."""
        if not self.available:
            return ()
        return tuple(self._sample_one(index, handle) for index, handle in self._handles)

    def _sample_one(self, index: int, handle: Any) -> S:
        raise NotImplementedError

    def close(self) -> None:
        """Shut the library down (once); a later ``sample()`` opens it again."""
        with self._lock:
            if self._opened:
                self._shut()
            self._tried = False
            self._opened = False
            self._reason = None
            self._handles = []
