"""Entry point of a spawned worker process. Imports nothing heavy before pinning its devices.

``CUDA_VISIBLE_DEVICES``, ``NEURON_RT_VISIBLE_CORES``, ``HLS_MODULE_ID`` and the Gaudi bridge's
``PT_HPU_LAZY_MODE`` are read once, when their runtime loads, so they are set from the task before
torch is imported here.
"""

from __future__ import annotations

import os
import signal
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event

from engines.messages import WorkerTask


def worker_main(task: WorkerTask, conn: Connection, stop: Event) -> None:
    from engines.backends.hpu.bridge import spec_startup_env  # no torch, no bridge

    os.environ.update(task.env)
    os.environ.update(spec_startup_env(task.spec, task.device))
    # Ctrl-C reaches the whole process group; the parent decides when to stop this worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from engines.runner import run_worker

    try:
        run_worker(task, conn.send, stop.is_set)
    finally:
        conn.close()
