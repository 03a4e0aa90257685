"""``plmprof`` with no command: open the interactive profiler, then print what it measured.

Also the entry point of the workers the app spawns (:func:`quiet_worker`), which is why this
module imports only the standard library at the top: a spawned worker imports it before its
device is pinned, and must not load torch or a device runtime by doing so.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from profilers.options import MeasureOptions
    from profilers.result import Result
    from profilers.telemetry.samples import TelemetrySample

WORKER_LOG_ENV = "PLMPROF_WORKER_LOG"
WORKER_LOG_NAME = "worker-output.log"

# Two tables, as TGI's benchmark prints several: what ran, then what was measured. Each fits in
# about 80 columns, so neither is squeezed into ellipses in a narrow terminal.
RUN_COLUMNS: tuple[str, ...] = ("run_id", "model", "device", "optimizations", "batch", "status")
MEASURED_COLUMNS: tuple[str, ...] = (
    "p50_ms",
    "p99_ms",
    "sequences_per_s",
    "max_ram_mb",
    "max_allocated_mb",
    "useful_mfu_pct",
    "joules_per_sequence",
    "usd_per_million",
)


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


def runs_tables(results: Sequence[Result]) -> tuple[Table, Table]:
    """The runs as the app leaves them on exit: what ran, and what each run measured."""
    from rich import box
    from rich.table import Table

    from profilers.export import COLUMNS, format_value, summary_row
    from tui.render.summary import STATUS_WORDS

    headers = {name: header for name, header, _ in COLUMNS}
    rows = [summary_row(result) for result in results]
    # the allocator column only when some run had a device allocator (CUDA)
    shown = [n for n in MEASURED_COLUMNS if n != "max_allocated_mb" or any(r[n] for r in rows)]
    runs = Table(title="plmprof runs", title_justify="left", box=box.SIMPLE_HEAD)
    measured = Table(title="measured", title_justify="left", box=box.SIMPLE_HEAD)
    for table, names in ((runs, list(RUN_COLUMNS)), (measured, shown)):
        table.add_column("#", justify="right", no_wrap=True)
        for name in names:
            text = name in RUN_COLUMNS
            table.add_column(
                headers[name],
                justify="left" if text else "right",
                no_wrap=not text or name == "run_id",
                overflow="fold" if text else "ellipsis",
                min_width=len(headers[name]),
            )
    for number, (result, row) in enumerate(zip(results, rows, strict=True), start=1):
        described = [format_value(row[name]) for name in RUN_COLUMNS]
        described[RUN_COLUMNS.index("status")] = STATUS_WORDS.get(result.status, result.status)
        runs.add_row(str(number), *described)
        measured.add_row(str(number), *(format_value(row[name]) for name in shown))
    return runs, measured


def print_runs(console: Console, results: Sequence[Result], results_dir: Path) -> None:
    if not results:
        console.print(f"No run finished. Results are saved in {results_dir}/ as runs finish.")
        return
    runs, measured = runs_tables(results)
    console.print(runs)
    console.print(measured)
    for number, result in enumerate(results, start=1):
        if result.message:
            console.print(f"  #{number} {result.status}: {result.message}", markup=False)
    console.print(
        f"Every run's Result is in {results_dir.resolve()}/ (<run id>.json).", soft_wrap=True
    )


def machine_sampler() -> tuple[Callable[[], TelemetrySample | None], Callable[[], None]]:
    """Host and NVIDIA readings for the device panel between runs, and how to close them."""
    import time

    from profilers.telemetry.host import HostSampler
    from profilers.telemetry.nvml import NvmlSampler
    from profilers.telemetry.samples import TelemetrySample

    host = HostSampler()
    nvml = NvmlSampler()

    def sample() -> TelemetrySample:
        gpus = nvml.sample() if nvml.available else ()
        return TelemetrySample(t=time.monotonic(), host=host.sample(), gpus=gpus)

    def close() -> None:
        host.close()
        nvml.close()

    return sample, close


def open_app(
    results_dir: Path = Path("plmprof-results"), options: MeasureOptions | None = None
) -> None:
    """Run the app, then print its runs. ``options``: how runs are measured (price, peak)."""
    from rich.console import Console

    from tui.app import create_app

    sample, close = machine_sampler()
    try:
        results = create_app(results_dir=results_dir, options=options, sampler=sample).run()
    finally:
        close()
    print_runs(Console(), results or [], results_dir)
