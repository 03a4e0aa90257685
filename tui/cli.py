"""``plmprof``: the command line. Parses flags into a RunSpec and MeasureOptions, prints results.

The only layer that prints. Every ``PlmprofError`` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from engines.errors import InvalidInputError, PlmprofError
from profilers.cost import ON_DEMAND
from profilers.options import MeasureOptions
from tui.options import (
    Force,
    InstanceType,
    Output,
    PeakTflops,
    PricePerHour,
    ResultsDir,
    measure_parameters,
    parameter,
    spec_from_flags,
    spec_parameters,
    with_parameters,
)

EXIT_FAILED_RUN = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="plmprof",
    help="Profile protein language models: latency, throughput, memory, energy, cost.",
    no_args_is_help=False,
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: no "<bool>" after flags, no boxes to wrap
)
err = Console(stderr=True, highlight=False)


@app.callback()
def root(
    ctx: typer.Context,
    results_dir: ResultsDir = Path("plmprof-results"),
    price_per_hour: PricePerHour = None,
    instance_type: InstanceType = None,
    peak_tflops: PeakTflops = None,
) -> None:
    """With no command, open the interactive profiler (these options are for it)."""
    if ctx.invoked_subcommand is not None:
        given = [
            f"--{name.replace('_', '-')}"
            for name in ("results_dir", "price_per_hour", "instance_type", "peak_tflops")
            # typer's own ParameterSource enum: compared by name
            if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"
        ]
        if given:  # a subcommand would silently ignore them: say where they go instead
            raise InvalidInputError(
                f"{', '.join(given)} before the command is for the interactive app; "
                f"put it after the command: plmprof {ctx.invoked_subcommand} {given[0]} …"
            )
        return
    from tui.commands.interactive import open_app

    options = MeasureOptions(
        price_per_hour=price_per_hour, instance_type=instance_type, peak_tflops=peak_tflops
    )
    code = open_app(results_dir, options)
    if code:
        raise typer.Exit(code)


def _measure_options(flags: dict[str, Any]) -> MeasureOptions:
    return MeasureOptions(
        telemetry_interval_s=flags["telemetry_interval"],
        price_per_hour=flags["price_per_hour"],
        instance_type=flags["instance_type"],
        price_kind=flags["price_kind"] or ON_DEMAND,
        peak_tflops=flags["peak_tflops"],
    )


def run(**flags: Any) -> None:
    """Profile one configuration headless, print a summary and export the Result."""
    spec = spec_from_flags("run", flags)
    options = _measure_options(flags)
    from tui.commands.run_command import execute_run  # heavy (torch): after validation

    raise typer.Exit(
        execute_run(
            spec,
            options,
            flags["export"],
            flags["output"],
            flags["live_json"],
            flags["results_dir"],
            err,
            flags["force"],
        )
    )


app.command("run")(
    with_parameters(
        run,
        [
            *spec_parameters("run"),
            *measure_parameters(),
            parameter("export", Annotated[str | None, typer.Option(help="json, csv or md.")], None),
            parameter("output", Output, None),
            parameter(
                "live_json",
                Annotated[
                    str | None,
                    typer.Option(help="Stream one JSON snapshot per line to FILE or -."),
                ],
                None,
            ),
            parameter("results_dir", ResultsDir, Path("plmprof-results")),
            parameter("force", Force, False),
        ],
    )
)


@app.command()
def models() -> None:
    """List the model catalog with parameter counts computed from each architecture."""
    from tui.commands.info import print_models

    print_models(Console())


@app.command()
def devices() -> None:
    """List the CPU, CUDA GPUs and Neuron devices this machine has, and what telemetry works."""
    from tui.commands.info import print_devices

    print_devices(Console())


def compile_neuron(**flags: Any) -> None:
    """Compile the Neuron buckets a run needs into the compile cache, ahead of the run."""
    spec = spec_from_flags("compile", flags, device="neuron")
    from tui.commands.compile_command import execute_compile  # heavy (torch): after validation

    raise typer.Exit(execute_compile(spec, flags["cpu_backend"], Console(), err))


app.command("compile")(
    with_parameters(
        compile_neuron,
        [
            *spec_parameters("compile"),
            parameter(
                "cpu_backend",
                Annotated[
                    bool | None,
                    typer.Option(help="Compile without a device (default: when none is here)."),
                ],
                None,
            ),
        ],
    )
)


def sweep(**flags: Any) -> None:
    """Run a grid of configurations (comma lists make axes), one Result per point, and a report."""
    from tui.commands.sweep_command import ExecutorChoice, execute_sweep
    from tui.stop_signals import StopSignals

    own = ("grid", "output", "resume", "dry_run", "max_batch", "max_batch_limit")
    grid, output, resume, dry_run, max_batch, limit = (flags.pop(name) for name in own)
    cluster = ("executor", "ray_address", "exclusive_nodes", "point_timeout")
    choice = ExecutorChoice(*(flags.pop(name) for name in cluster))
    yes, accept_changes = flags.pop("yes"), flags.pop("accept_changes")
    with StopSignals() as signals:  # SIGTERM and SIGHUP stop the sweep as Ctrl-C does
        code = execute_sweep(
            flags, grid, output, resume, dry_run, max_batch, limit, err,
            choice=choice, yes=yes, accept_changes=accept_changes,
        )  # fmt: skip
    raise typer.Exit(signals.exit_code(code))


app.command("sweep")(
    with_parameters(
        sweep,
        [
            parameter(
                "grid",
                Annotated[
                    Path | None,
                    typer.Option(help="Grid file: TOML (YAML when pyyaml is installed)."),
                ],
                None,
            ),
            parameter(
                "output",
                Annotated[
                    Path | None,
                    typer.Option(
                        "--output", "-o", help="Sweep folder (default plmprof-sweep-<time>)."
                    ),
                ],
                None,
            ),
            parameter(
                "resume",
                Annotated[
                    bool,
                    typer.Option(
                        help="Continue the sweep in --output; saved points are not rerun."
                    ),
                ],
                False,
            ),
            parameter(
                "dry_run",
                Annotated[bool, typer.Option(help="List the points; run nothing.")],
                False,
            ),
            parameter(
                "yes",
                Annotated[
                    bool,
                    typer.Option(
                        "--yes", help="Run a grid of over 100 points or 4 hours (asked otherwise)."
                    ),
                ],
                False,
            ),
            parameter(
                "accept_changes",
                Annotated[
                    bool,
                    typer.Option(
                        "--accept-changes",
                        help="--resume with changed settings: run the new grid in the folder.",
                    ),
                ],
                False,
            ),
            parameter(
                "max_batch",
                Annotated[
                    bool,
                    typer.Option(help="Find the largest batch that fits in memory, per point."),
                ],
                False,
            ),
            parameter(
                "max_batch_limit",
                Annotated[int, typer.Option(help="Largest batch --max-batch tries.")],
                1024,
            ),
            parameter(
                "executor",
                Annotated[
                    str,
                    typer.Option(
                        help="local (this machine, a point at a time) or ray (a Ray cluster)"
                    ),
                ],
                "local",
            ),
            parameter(
                "ray_address",
                Annotated[
                    str | None,
                    typer.Option(
                        help="--executor ray: auto or HOST:PORT (default: a new Ray here)"
                    ),
                ],
                None,
            ),
            parameter(
                "exclusive_nodes",
                Annotated[
                    bool,
                    typer.Option(
                        "--exclusive-nodes/--shared-nodes",
                        help="--executor ray: one point per node at a time (sharing skews timings)",
                    ),
                ],
                True,
            ),
            parameter(
                "point_timeout",
                Annotated[
                    float | None,
                    typer.Option(help="--executor ray: cancel a point after this many seconds."),
                ],
                None,
            ),
            *spec_parameters("sweep"),
            *measure_parameters(sweep=True),
        ],
    )
)


@app.command()
def report(
    results_dir: Annotated[Path, typer.Argument(help="Folder of Result JSON files (a sweep).")],
    export: Annotated[str, typer.Option(help="md, csv or json.")] = "md",
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="File to write, or - for stdout.")
    ] = None,
    plots: Annotated[bool, typer.Option(help="Also draw PNG plots (needs matplotlib).")] = False,
    plots_dir: Annotated[
        Path | None, typer.Option(help="Where plots go (default: beside --output).")
    ] = None,
    force: Force = False,
    sort: Annotated[
        str,
        typer.Option(
            help="Order of the Performance table: cost (per 1M sequences), cost-residues, "
            "throughput, residues, p50, p99, memory, energy, mfu, batch or model."
        ),
    ] = "cost",
) -> None:
    """Benchmark tables from saved Results: setup, best settings, Pareto front, speed-ups."""
    from tui.commands.report_command import execute_report

    raise typer.Exit(
        execute_report(results_dir, export, output, plots, plots_dir, err, force, sort)
    )


@app.command()
def compare(
    a: Annotated[Path, typer.Argument(help="Reference Result JSON.")],
    b: Annotated[Path, typer.Argument(help="Result JSON to check against A.")],
    metric: Annotated[str, typer.Option(help="throughput, p50 or p99.")] = "throughput",
    fail_if_slower: Annotated[
        str | None, typer.Option(help="Exit 1 when B is slower than A by more than this, e.g. 5%.")
    ] = None,
    strict_samples: Annotated[
        bool,
        typer.Option(
            help="Exit 1 when the gated percentile rests on too few samples (p99 needs 662)."
        ),
    ] = False,
) -> None:
    """Two Results side by side with ratios; a CI guard with --fail-if-slower."""
    from tui.commands.compare_command import execute_compare

    raise typer.Exit(execute_compare(a, b, metric, fail_if_slower, Console(), err, strict_samples))


@app.command()
def top(
    interval: Annotated[float, typer.Option(help="Seconds between refreshes.")] = 0.5,
    once: Annotated[bool, typer.Option(help="Print one snapshot and exit.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of tables.")] = False,
    count: Annotated[int | None, typer.Option(help="Stop after N refreshes.")] = None,
    neuron_monitor_replay: Annotated[
        Path | None, typer.Option(help="Play back a recorded neuron-monitor JSON-lines file.")
    ] = None,
    hl_smi_replay: Annotated[
        Path | None, typer.Option(help="Play back a recorded hl-smi --format=csv file (Gaudi).")
    ] = None,
) -> None:
    """Watch GPUs, NeuronCores, Gaudi cards and the host live, without running a model (q or
    Ctrl-C quits)."""
    from tui.commands.top_command import execute_top

    raise typer.Exit(
        execute_top(
            interval,
            once,
            as_json,
            count,
            neuron_monitor_replay,
            Console(),
            hl_smi_replay=hl_smi_replay,
        )
    )


def invoke(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` and return the exit code: 0 ok, 1 a run that failed
    (its Result is still written), 2 bad input, 130 interrupted."""
    try:
        app(args=argv, prog_name="plmprof")
    except SystemExit as done:  # typer's standalone mode always ends this way
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_BAD_INPUT)
    except PlmprofError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        err.print("interrupted")
        return EXIT_INTERRUPTED
    return 0


def main() -> None:
    sys.exit(invoke())
