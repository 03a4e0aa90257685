"""A stand-in engine for testing the measurement pipeline: its "model" sleeps a known time.

Sleeps are stable even on a noisy 2-core VM, so statistics can be asserted tightly. It speaks the
real worker protocol (engines.messages) through the real pipe, in a real spawned process.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from multiprocessing.connection import Connection
from typing import Any

from engines.batching import fixed_batches
from engines.messages import (
    BatchDone,
    Compiling,
    Finished,
    Loaded,
    Status,
    WarmedUp,
    WorkerTask,
    WorkloadSummary,
)
from engines.structure import ModelShape
from engines.worker import EndOnSignal

SLEEP_S = float(os.environ.get("FAKE_ENGINE_SLEEP_S", "0.02"))
SHAPE = ModelShape(
    parameters=7_409_081,
    token_linear_params=7_372_800,
    sequence_linear_params=0,
    attn_dims=(320,) * 6,
)


def _loaded(task: WorkerTask) -> Loaded:
    spec = task.spec
    seq_len = int(spec["seq_len"])  # type: ignore[call-overload]
    batch_size = int(spec["batch_size"])  # type: ignore[call-overload]
    lengths = (seq_len,) * (batch_size * 4)
    batches = tuple(fixed_batches(lengths, batch_size, special=2))
    summary = WorkloadSummary(
        source=f"synthetic:{seq_len}",
        sequences=len(lengths),
        truncated=0,
        max_residues=1022,
        longest=seq_len,
        batches=len(batches),
        residues=sum(lengths),
        real_tokens=sum(b.real_tokens for b in batches),
        padded_tokens=sum(b.padded_tokens for b in batches),
    )
    return Loaded(
        worker=task.index,
        device=task.device,
        device_name="fake sleeping engine",
        load_s=0.0,
        shape=SHAPE,
        attention="eager",
        rss_bytes=0,
        device_allocated_bytes=None,
        workload=summary,
        batches=batches,
        lengths=lengths,
        special_tokens=2,
        threads=1,
        compute_units=("cpu",),
    )


def sleeping_worker(task: WorkerTask, conn: Connection, stop: Any) -> None:
    """Sends Loaded, then one BatchDone per ``SLEEP_S`` sleep until the spec's rule is met."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    loaded = _loaded(task)
    conn.send(loaded)
    conn.send(WarmedUp(task.index, SLEEP_S, 1, SLEEP_S))
    max_iters = task.spec.get("max_iters")
    began = time.monotonic()
    count = 0
    status = Status.OK
    while True:
        if stop.is_set():
            status = Status.INTERRUPTED
            break
        start = time.monotonic()
        time.sleep(SLEEP_S)
        end = time.monotonic()
        conn.send(BatchDone(task.index, start, end, count % len(loaded.batches)))
        count += 1
        if max_iters is not None and count >= max_iters:
            break
        if count >= task.spec["min_iters"] and end - began >= task.spec["duration_s"]:  # type: ignore[operator]
            break
    conn.send(Finished(task.index, status, count))
    conn.close()


def dying_worker(task: WorkerTask, conn: Connection, stop: Any) -> None:
    """Reports its plan, then dies from SIGKILL as the kernel's OOM killer would kill it."""
    conn.send(_loaded(task))
    os.kill(os.getpid(), signal.SIGKILL)


def compiling_worker(task: WorkerTask, conn: Connection, stop: Any) -> None:
    """Loads, then "compiles" for a minute without looking at ``stop`` (as torch.compile does),
    holding a multiprocessing lock as inductor's progress bar (tqdm) does; the parent ends it
    with ``END_SIGNAL`` as it ends the real worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lock = multiprocessing.RLock()  # registered with the parent's resource tracker (spawn)
    ending = EndOnSignal(conn.send)
    ending.install()
    try:
        ending.send(_loaded(task))
        ending.send(Compiling(task.index, "torch.compile", 0, 1))
        with lock:
            time.sleep(60)
        ending.send(Finished(task.index, Status.OK, 0))
    except KeyboardInterrupt:
        pass
