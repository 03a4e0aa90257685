"""``plmprof`` with no command: open the interactive profiler, then print what it measured.

Only the standard library is imported at the top, so that ``plmprof --help`` stays light."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from profilers.options import MeasureOptions
    from profilers.result import Result
    from profilers.telemetry.samples import TelemetrySample
    from tui.app import PlmprofApp


def runs_tables(results: Sequence[Result]) -> tuple[Table, Table]:
    """The runs as the app leaves them on exit, in two tables as TGI's benchmark prints several:
    what ran, then what each run measured. Each fits in about 80 columns, so neither is squeezed
    into ellipses in a narrow terminal."""
    from rich import box
    from rich.table import Table

    from profilers.export import (
        COLUMNS,
        MEASURED_COLUMNS,
        RUN_COLUMNS,
        format_value,
        summary_row,
    )
    from tui.render.summary import status_words

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
                no_wrap=not text or name in ("run_id", "status"),
                overflow="fold" if text else "ellipsis",
                min_width=len(headers[name]),
            )
    for number, (result, row) in enumerate(zip(results, rows, strict=True), start=1):
        described = [format_value(row[name]) for name in RUN_COLUMNS]
        described[RUN_COLUMNS.index("status")] = status_words(result.status, short=True)
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
) -> int:
    """Run the app, then print its runs; return the exit code (``run_app``). ``options``: how
    runs are measured (price, peak)."""
    from rich.console import Console

    from profilers.files import check_folder
    from tui.app import create_app

    check_folder(results_dir)  # before the app opens: a run's Result must have a place to go

    sample, close = machine_sampler()
    try:
        app = create_app(results_dir=results_dir, options=options, sampler=sample)
        results, code = run_app(app)
    finally:
        close()
    print_runs(Console(), results or [], results_dir)
    return code


def run_app(app: PlmprofApp, **run: Any) -> tuple[list[Result] | None, int]:
    """Run ``app`` (``run``: ``App.run``'s arguments); return its runs and the exit code: 0, or
    ``128 + signal`` when SIGTERM or SIGHUP (or SIGINT sent by ``kill``) stopped it. Such a
    signal stops the run and keeps what it measured, as q does; a second quits at once."""
    from tui.stop_signals import StopSignals

    with StopSignals(on_signal=app.quit_for_signal) as signals:
        results = app.run(**run)
    return results, signals.exit_code(0)
