"""``plmprof compile``: compile a Neuron run's buckets into the compile cache ahead of the run."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engines.backends.neuron.precompile import PrecompileReport, precompile
from engines.backends.neuron.tracer import NeuronCompileError
from engines.spec import RunSpec
from tui.stop_signals import StopSignals

EXIT_OK, EXIT_COMPILE_FAILED, EXIT_INTERRUPTED = 0, 1, 130


def execute_compile(spec: RunSpec, cpu_backend: bool | None, out: Console, err: Console) -> int:
    """Compile every bucket ``spec`` needs, printing progress on ``err`` and a table on ``out``.

    A compiler failure is reported in one line and exits 1; bad settings raise ``PlmprofError``
    (one line, exit 2, from the CLI's handler). Ctrl-C, SIGTERM or SIGHUP stop it between or
    during buckets: the buckets already compiled stay in the cache (each is written whole), the
    line says how many, and it exits 128 + the signal."""
    reached = [0, 0]  # buckets done, buckets in all

    def progress(stage: str, done: int, total: int) -> None:
        reached[:] = [done, total]
        err.print(f"[{done}/{total}] {stage}", markup=False, highlight=False)

    with StopSignals() as signals:
        try:
            report = precompile(spec, progress, cpu_backend=cpu_backend)
        except NeuronCompileError as exc:
            err.print(f"[bold red]compilation failed:[/] {escape(str(exc))}", soft_wrap=True)
            return EXIT_COMPILE_FAILED
        except KeyboardInterrupt:
            done, total = reached
            err.print(
                f"stopped: {done} of {total or '?'} buckets compiled; those are in the compile "
                "cache, and a later compile or run loads them instead of compiling again",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            return signals.exit_code(EXIT_INTERRUPTED)
    out.print(report_table(report))
    for note in report.notes:
        out.print(f"note: {note}", markup=False, highlight=False)
    return EXIT_OK


def report_table(report: PrecompileReport) -> Table:
    spec = report.spec
    title = (
        f"{spec.model} for {spec.neuron_target}, {spec.dtype}, optlevel {spec.neuron_optlevel}"
        f" ({report.seconds:.1f} s)"
    )
    table = Table(title=title, caption=f"cache: {report.cache_root}")
    for column in ("bucket (rows x tokens)", "result", "seconds", "file"):
        table.add_column(column)
    for outcome in report.outcomes:
        table.add_row(
            outcome.shape.label,
            "from cache" if outcome.cached else "compiled",
            f"{outcome.seconds:.1f}",
            outcome.path.name if outcome.path is not None else "not cached",
        )
    return table
