"""Entry point of a spawned worker process. Imports nothing heavy before pinning its devices.

``CUDA_VISIBLE_DEVICES``, ``NEURON_RT_VISIBLE_CORES``, ``HLS_MODULE_ID`` and the Gaudi bridge's
``PT_HPU_LAZY_MODE`` are read once, when their runtime loads, so they are set from the task before
torch is imported here.

A worker dies with its parent: on Linux the kernel sends it SIGKILL when the parent ends
(``PR_SET_PDEATHSIG``); elsewhere a thread checks once a second that the parent is still there.
Stop signals (Ctrl-C, SIGTERM, SIGHUP) reach the whole process group; the worker ignores them and
the parent decides when it stops, so that what it measured is reported first. The parent starts
it with them held (blocked), so that none can kill it before it ignores them.

A worker that cannot stop between batches (still importing, building, compiling or warming up:
``torch.compile`` runs for tens of seconds without looking at the stop event) is ended by the
parent with ``END_SIGNAL``: the worker raises ``KeyboardInterrupt`` where it stands (never in the
middle of a message to the parent) and exits through its exit handlers, so that what it
registered with multiprocessing's resource tracker (e.g. the semaphore of the tqdm lock that
inductor's compile progress creates) is released; a process killed outright leaves it
registered, and the tracker prints a "leaked semaphore" warning when the app quits.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from types import FrameType
from typing import Any

from engines.allocator import pin_allocator, pins_allocator
from engines.messages import Phase, WorkerTask

_PR_SET_PDEATHSIG = 1
# What a user sends to stop a run: a worker ignores them (its parent tells it when to stop).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# What the parent sends to end a worker at once; held, like the stop signals, while it starts.
END_SIGNAL = signal.SIGUSR1
HELD_SIGNALS = (*STOP_SIGNALS, END_SIGNAL)


class EndOnSignal:
    """``END_SIGNAL`` raises ``KeyboardInterrupt`` in the main thread, once; while a message is
    being sent it waits for the send to finish, so the parent never reads half a message.
    ``stopped``: the parent ended this worker or asked it to stop."""

    def __init__(self, send: Callable[[Any], None]) -> None:
        self._send = send
        self._sending = False
        self._asked = False
        self._raised = False
        self.stopped = False

    def install(self) -> None:
        signal.signal(END_SIGNAL, self._handle)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, (END_SIGNAL,))  # held while it started

    def _handle(self, _number: int, _frame: FrameType | None) -> None:
        self._asked = self.stopped = True
        if not self._sending:
            self._raise()

    def exit_quickly(self) -> None:
        """Registered with ``atexit`` as the worker starts, so it runs after every exit handler
        registered later (torch's, inductor's; multiprocessing's finalizers ran before them):
        a stopped worker skips the interpreter's teardown, which after ``torch.compile`` takes
        seconds (2.6 s measured on a 2-core VM) that the user's stop would wait for."""
        if self.stopped:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(0)

    def _raise(self) -> None:
        if not self._raised:
            self._raised = True
            raise KeyboardInterrupt("ended by the parent")

    def send(self, message: Any) -> None:
        self._sending = True
        try:
            self._send(message)
        finally:
            self._sending = False
        if self._asked:
            self._raise()


def die_with_parent(parent_pid: int) -> None:
    """End this process when ``parent_pid`` ends (now, if it already has)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    else:
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:  # the parent ended before the line above took effect
        os._exit(1)


def _watch_parent(parent_pid: int) -> None:  # pragma: no cover - the Linux path is the prctl
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(1)


def worker_main(task: WorkerTask, conn: Connection, stop: Event) -> None:
    if task.parent_pid is not None:
        die_with_parent(task.parent_pid)
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # held while it started
    ending = EndOnSignal(conn.send)
    atexit.register(ending.exit_quickly)
    try:
        ending.install()
        if pins_allocator(task.spec, task.device):  # before torch allocates or starts threads
            pin_allocator()
        ending.send(Phase(task.index, "importing", time.monotonic()))  # the interpreter is up
        from engines.backends.hpu.bridge import spec_startup_env  # no torch, no bridge

        os.environ.update(task.env)
        os.environ.update(spec_startup_env(task.spec, task.device))
        from engines.runner import run_worker

        run_worker(task, ending.send, stop.is_set)
        ending.stopped = ending.stopped or stop.is_set()  # set before it reported: a stop
    except (BrokenPipeError, EOFError):  # the parent is gone: nobody to report to
        pass
    except KeyboardInterrupt:  # ended by the parent before run_worker could report it
        pass
    finally:
        with contextlib.suppress(OSError):
            conn.close()
