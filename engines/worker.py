"""Entry point of a spawned worker process. Imports nothing heavy before pinning its devices.

``CUDA_VISIBLE_DEVICES``, ``NEURON_RT_VISIBLE_CORES``, ``HLS_MODULE_ID`` and the Gaudi bridge's
``PT_HPU_LAZY_MODE`` are read once, when their runtime loads, so they are set from the task before
torch is imported here.

A worker dies with its parent: on Linux the kernel sends it SIGKILL when the parent ends
(``PR_SET_PDEATHSIG``); elsewhere a thread checks once a second that the parent is still there.
Stop signals (Ctrl-C, SIGTERM, SIGHUP) reach the whole process group; the worker ignores them and
the parent decides when it stops, so that what it measured is reported first. The parent starts
it with them held (blocked), so that none can kill it before it ignores them.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event

from engines.messages import Phase, WorkerTask

_PR_SET_PDEATHSIG = 1
# What a user sends to stop a run: a worker ignores them (its parent tells it when to stop).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


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
    try:
        conn.send(Phase(task.index, "importing", time.monotonic()))  # the interpreter is up
        from engines.backends.hpu.bridge import spec_startup_env  # no torch, no bridge

        os.environ.update(task.env)
        os.environ.update(spec_startup_env(task.spec, task.device))
        from engines.runner import run_worker

        run_worker(task, conn.send, stop.is_set)
    except (BrokenPipeError, EOFError):  # the parent is gone: nobody to report to
        pass
    finally:
        with contextlib.suppress(OSError):
            conn.close()
