"""SIGTERM and SIGHUP take Ctrl-C's path: the command stops measuring, keeps what was measured
(an ``interrupted`` Result, saved), ends its workers and exits ``128 + the signal's number``.

SIGHUP is what a dropped SSH session sends: the terminal is gone, so anything still printed to it
would fail (EIO, broken pipe). The handler points standard output and error that are terminals at
``/dev/null`` first, so that the summary printed while saving cannot raise. Output redirected to a
file or a pipe is left alone.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from engines.worker import STOP_SIGNALS


def _silence_lost_terminal() -> None:
    for fd in (1, 2):
        try:
            if not os.isatty(fd):
                continue
            null = os.open(os.devnull, os.O_WRONLY)
        except OSError:
            continue
        os.dup2(null, fd)
        os.close(null)


class StopSignals:
    """A context in which SIGINT, SIGTERM and SIGHUP raise ``KeyboardInterrupt`` in the main
    thread (where the session and the sweep turn it into an ``interrupted`` Result). A repeated
    SIGTERM or SIGHUP changes nothing (the stop is under way); Ctrl-C behaves as it always did.
    ``received`` is the first such signal, ``exit_code(default)`` what the command returns.

    ``on_signal``, when given, is called for every such signal instead (the interactive app,
    whose event loop must not be interrupted, stops its run and quits)."""

    def __init__(self, on_signal: Callable[[], None] | None = None) -> None:
        self.received: signal.Signals | None = None
        self._on_signal = on_signal
        self._previous: dict[signal.Signals, Any] = {}

    def __enter__(self) -> StopSignals:
        for number in STOP_SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handle(self, number: int, _frame: FrameType | None) -> None:
        if number == signal.SIGHUP:
            _silence_lost_terminal()
        if self._on_signal is not None:
            self.received = self.received or signal.Signals(number)
            self._on_signal()
            return
        if self.received is not None and number != signal.SIGINT:
            return  # a repeated TERM or HUP while the stop is under way
        self.received = self.received or signal.Signals(number)
        raise KeyboardInterrupt

    def exit_code(self, default: int) -> int:
        """``128 + signal`` once a stop signal came (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)."""
        return default if self.received is None else 128 + int(self.received)
