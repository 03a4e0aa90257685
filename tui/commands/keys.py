"""Single key presses from a terminal, for live views that quit on a key (``plmprof top``)."""

from __future__ import annotations

import contextlib
import os
import select
import sys
import time
from typing import Any

try:  # POSIX terminals only; elsewhere only Ctrl-C quits
    import termios
    import tty
except ImportError:  # pragma: no cover - Windows
    termios = None  # type: ignore[assignment]
    tty = None  # type: ignore[assignment]

QUIT_KEYS = frozenset("qQ")


class KeyReader:
    """Reads single key presses from a terminal without echo (cbreak mode; Ctrl-C still sends
    SIGINT). On anything that is not a terminal it only waits. Restores the terminal on exit."""

    def __init__(self, fd: int | None = None) -> None:
        self.fd = fd
        self._saved: list[Any] | None = None

    @property
    def active(self) -> bool:
        return self._saved is not None

    def __enter__(self) -> KeyReader:
        fd = self.fd
        if fd is None or termios is None or tty is None or not os.isatty(fd):
            return self
        try:
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        except (termios.error, OSError):
            self._saved = None
        return self

    def __exit__(self, *exc_info: object) -> None:
        saved, self._saved = self._saved, None
        if saved is not None and self.fd is not None and termios is not None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)

    def quit_pressed(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s``; ``True`` as soon as q is pressed."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            left = deadline - time.monotonic()
            if not self.active or self.fd is None:
                time.sleep(max(0.0, left))
                return False
            if left <= 0:
                return False
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return False
            try:
                typed = os.read(self.fd, 64).decode("utf-8", errors="ignore")
            except OSError:
                return False
            if QUIT_KEYS.intersection(typed):
                return True


def stdin_fd() -> int | None:
    try:
        return sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return None
