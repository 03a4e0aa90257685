"""One run: start engine workers (spawned), sample devices beside them, merge both streams into
live snapshots, and end with one Result whatever happened to the workers."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from engines.host_limits import check_host
from engines.messages import BatchDone, Status, StepDone, WorkerTask
from engines.placement import place
from engines.preflight import check_runnable
from engines.spec import RunSpec
from engines.worker import END_SIGNAL, HELD_SIGNALS, worker_main
from profilers.collector import RunCollector
from profilers.environment import describe_environment
from profilers.finalize import RunClock, build_result, resolve_price
from profilers.live import make_snapshot
from profilers.options import MeasureOptions
from profilers.result import Result
from profilers.snapshot import Snapshot
from profilers.telemetry.gaudi import gaudi_source
from profilers.telemetry.host import HostSampler
from profilers.telemetry.monitor import TelemetryMonitor
from profilers.telemetry.neuron_monitor import NeuronMonitorSampler
from profilers.telemetry.nvml import NvmlSampler
from profilers.telemetry.rapl import RaplReader

WorkerTarget = Callable[[WorkerTask, Connection, Any], None]
SnapshotCallback = Callable[[Snapshot], None]

# After a stop request, how long workers get to finish their batch before they are ended.
STOP_GRACE_S = 15.0  # a measuring worker: time to finish its batch in flight
# A worker ended before it measured (END_SIGNAL at once): time to exit cleanly before SIGKILL.
STOP_GRACE_UNMEASURED_S = 1.5
EXIT_WAIT_S = 5.0  # a worker that reported its end: time to exit before SIGKILL


def build_monitor(
    options: MeasureOptions, host: HostSampler, gaudi: bool = False
) -> TelemetryMonitor | None:
    """The run's samplers; Gaudi cards (HLML, else hl-smi) when ``gaudi`` (the run is on hpu),
    with the reason in the run's notes when neither works."""
    if not options.telemetry:
        return None
    nvml = NvmlSampler()
    neuron = NeuronMonitorSampler() if options.neuron_monitor else None
    cards = gaudi_source() if gaudi else None
    monitor = TelemetryMonitor(
        options.telemetry_interval_s,
        host=host,
        nvml=nvml if nvml.available else None,
        neuron=neuron if neuron is not None and neuron.available else None,
        hpu=cards if cards is not None and cards.available else None,
    )
    if cards is not None and not cards.available and cards.reason:
        monitor.note("hpu", cards.reason)
    return monitor


class Session:
    """Run ``spec`` once. ``run()`` blocks and returns the Result; ``stop()`` (any thread) ends the
    measurement early and keeps what was measured (status ``interrupted``)."""

    def __init__(
        self,
        spec: RunSpec,
        options: MeasureOptions | None = None,
        *,
        on_snapshot: SnapshotCallback | None = None,
        worker_target: WorkerTarget = worker_main,
        monitor: TelemetryMonitor | None = None,
    ) -> None:
        self.spec = spec
        self.options = options or MeasureOptions()
        self.on_snapshot = on_snapshot
        self.worker_target = worker_target
        self._host = HostSampler(rapl=RaplReader())
        self._monitor = monitor
        self._stop_requested_at: float | None = None
        self._warnings: list[str] | None = None
        self._ended_early: set[int] = set()  # workers sent END_SIGNAL before they measured
        self.collector = RunCollector(spec.worker_devices())

    def stop(self) -> None:
        if self._stop_requested_at is None:
            self._stop_requested_at = time.monotonic()

    def preflight(self) -> list[str]:
        """Raise ``PlmprofError`` for a run that cannot work here, before anything starts;
        return the warnings the Result will carry (e.g. more CPU workers than cores)."""
        if self._warnings is None:
            check_runnable(self.spec)
            self._warnings = check_host(self.spec)
        return self._warnings

    def run(self) -> Result:
        """Preflight (unless done), then the run itself."""
        warnings = self.preflight()
        price = resolve_price(self.options)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        environment = describe_environment()
        owned = self._monitor is None
        gaudi = any(d.partition(":")[0] == "hpu" for d in self.spec.worker_devices())
        monitor = self._monitor or build_monitor(self.options, self._host, gaudi)
        clock = RunClock(started=time.monotonic())
        if monitor is not None:
            monitor.start()
        try:
            self._run_workers(clock, monitor, price)
        finally:
            if monitor is not None:
                monitor.stop()
        clock.ended = time.monotonic()
        result = build_result(
            self.spec,
            self.options,
            self.collector,
            monitor.history() if monitor else [],
            environment,
            created,
            clock,
            price,
            monitor.reasons() if monitor else {},
        )
        result.notes.extend(warnings)
        if monitor is not None and owned:
            monitor.close()  # ends neuron-monitor, shuts NVML down, closes /proc files
        return result

    def _start_workers(self, context: Any, stop: Any) -> list[tuple[BaseProcess, Connection]]:
        devices = self.spec.worker_devices()
        started = []
        for index, device in enumerate(devices):
            same_family = sum(d.partition(":")[0] == device.partition(":")[0] for d in devices)
            placement = place(device, index, same_family, dict(os.environ))
            task = WorkerTask(
                self.spec.to_dict(), index, placement.device, placement.env, os.getpid()
            )
            parent_end, child_end = context.Pipe(duplex=False)
            process = context.Process(
                target=self.worker_target,
                args=(task, child_end, stop),
                name=f"plmprof-worker-{index}",
                daemon=True,
            )
            process.start()
            child_end.close()
            self.collector.mark_loading(index, process.pid)
            if process.pid is not None:
                self._host.watch(process.pid)
            started.append((process, parent_end))
        return started

    def _run_workers(self, clock: RunClock, monitor: TelemetryMonitor | None, price: Any) -> None:
        context = mp.get_context("spawn")
        with stop_signals_held():  # multiprocessing's helper process keeps them held for good
            resource_tracker.ensure_running()
        stop = context.Event()
        workers: list[tuple[BaseProcess, Connection]] = []
        try:
            with stop_signals_held():
                workers = self._start_workers(context, stop)
        except KeyboardInterrupt:  # a stop signal that came while the workers started
            self.stop()
        open_pipes = {conn: index for index, (_, conn) in enumerate(workers)}
        next_snapshot = time.monotonic()
        try:
            while not self.collector.done:
                try:
                    self._poll(workers, open_pipes, clock, monitor)
                    if self._stop_requested_at is not None:
                        stop.set()
                        self._end_stragglers(workers)
                    if self.on_snapshot is not None and time.monotonic() >= next_snapshot:
                        self.on_snapshot(self.snapshot(monitor, clock, price))
                        next_snapshot = time.monotonic() + self.options.snapshot_interval_s
                except KeyboardInterrupt:  # Ctrl-C: stop measuring, keep what was measured
                    self.stop()
            clock.mark_workers_done(monitor)
        finally:
            stop.set()
            for index, (process, conn) in enumerate(workers):
                process.join(timeout=self._exit_wait(index))
                if process.is_alive():
                    process.kill()
                    process.join(timeout=EXIT_WAIT_S)
                conn.close()
        if self.on_snapshot is not None:
            self.on_snapshot(self.snapshot(monitor, clock, price))

    def _poll(
        self,
        workers: list[tuple[BaseProcess, Connection]],
        open_pipes: dict[Connection, int],
        clock: RunClock,
        monitor: TelemetryMonitor | None,
    ) -> None:
        timeout = min(self.options.snapshot_interval_s, 0.1)
        for conn in wait(list(open_pipes), timeout=timeout):
            assert isinstance(conn, Connection)
            self._drain(conn, open_pipes, clock, monitor)
        for index, (process, conn) in enumerate(workers):
            if conn not in open_pipes and self.collector.workers[index].status is None:
                process.join(timeout=1)
                self.collector.mark_ended(index, Status.CRASHED, _death_message(process))

    def _drain(
        self,
        conn: Connection,
        open_pipes: dict[Connection, int],
        clock: RunClock,
        monitor: TelemetryMonitor | None,
    ) -> None:
        try:
            while conn.poll():
                message = conn.recv()
                timed = isinstance(message, BatchDone) or (
                    isinstance(message, StepDone) and not message.warmup
                )
                if clock.first_batch is None and timed:
                    clock.mark_first_batch(monitor)
                self.collector.handle(message)
        except (EOFError, OSError):
            del open_pipes[conn]

    def _end_stragglers(self, workers: list[tuple[BaseProcess, Connection]]) -> None:
        """Workers that cannot stop between batches are ended: one still loading, compiling or
        warming up (nothing measured to keep) at once, with ``END_SIGNAL`` (it exits cleanly;
        SIGKILL after ``STOP_GRACE_UNMEASURED_S`` if it does not); one measuring, whose batch
        outlasts ``STOP_GRACE_S``, with SIGKILL after that (its finished batches are kept)."""
        assert self._stop_requested_at is not None
        waited = time.monotonic() - self._stop_requested_at
        for index, (process, _) in enumerate(workers):
            record = self.collector.workers[index]
            if record.status is not None:
                continue
            if record.phase != "measuring":
                if process.pid is not None:
                    with contextlib.suppress(ProcessLookupError):  # it has just ended
                        os.kill(process.pid, END_SIGNAL)
                self._ended_early.add(index)
                message = f"stopped by the user while {record.phase} (before it began measuring)"
                self.collector.mark_ended(index, Status.INTERRUPTED, message)
            elif waited >= STOP_GRACE_S:
                process.kill()
                message = f"stopped by the user; its batch in flight outlasted {STOP_GRACE_S:.0f} s"
                self.collector.mark_ended(index, Status.INTERRUPTED, message)

    def _exit_wait(self, index: int) -> float:
        """How long worker ``index`` may take to exit once the run is over, before SIGKILL."""
        return STOP_GRACE_UNMEASURED_S if index in self._ended_early else EXIT_WAIT_S

    def snapshot(self, monitor: TelemetryMonitor | None, clock: RunClock, price: Any) -> Snapshot:
        return make_snapshot(
            self.spec,
            self.options,
            self.collector,
            clock,
            monitor.latest() if monitor else None,
            monitor.history(since=clock.first_batch) if monitor and clock.first_batch else [],
            price,
        )


@contextlib.contextmanager
def stop_signals_held() -> Iterator[None]:
    """Hold (block) Ctrl-C, SIGTERM, SIGHUP and ``END_SIGNAL`` while child processes start. A
    child inherits the mask, so a stop signal sent to the whole process group (a terminal's
    Ctrl-C or hang-up) cannot kill it before it ignores them itself (``engines.worker``), and an
    early ``END_SIGNAL`` waits for its handler; this process receives its own stop signals when
    the mask is lifted, as a ``KeyboardInterrupt`` on leaving the block."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _death_message(process: BaseProcess) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        hint = (
            " (SIGKILL is what the kernel's OOM killer sends when memory runs out)"
            if -code == signal.SIGKILL
            else ""
        )
        return f"the worker process died from {name} without reporting{hint}"
    return f"the worker process exited with code {code} without reporting"
