"""The entry point of the workers the interactive app spawns, whose output goes to a log file.

Only the standard library is imported here: a spawned worker imports this module before its
device is pinned, and must not load torch or a device runtime by doing so.
"""

from __future__ import annotations

import os
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

WORKER_LOG_ENV = "PLMPROF_WORKER_LOG"
WORKER_LOG_NAME = "worker-output.log"


def log_workers_in(results_dir: Path) -> Path:
    """Send the output of the workers spawned from now on to a log beside the results."""
    path = results_dir.resolve() / WORKER_LOG_NAME
    os.environ[WORKER_LOG_ENV] = str(path)
    return path


def quiet_worker(task: Any, conn: Connection, stop: Event) -> None:
    """A worker whose stdout and stderr go to a log file instead of over the app's screen.

    The spawned process inherits the terminal; a warning or a traceback printed there would be
    drawn across the TUI. The log is the file named by ``PLMPROF_WORKER_LOG`` (appended to).
    """
    path = os.environ.get(WORKER_LOG_ENV, os.devnull)
    if path != os.devnull:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    empty = os.open(os.devnull, os.O_RDONLY)
    os.dup2(empty, 0)
    os.close(empty)
    from engines.worker import worker_main

    worker_main(task, conn, stop)
