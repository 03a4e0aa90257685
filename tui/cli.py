"""``plmprof``: the command line. Parses flags into a RunSpec and MeasureOptions, prints results.

The only layer that prints. Every ``PlmprofError`` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from engines.catalog import DEFAULT_MODEL
from engines.errors import PlmprofError
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from tui.options import (
    Device,
    Dtype,
    Fasta,
    Lengths,
    Model,
    SeqLen,
    Weights,
    WorkloadFlags,
    buckets_field,
    devices_field,
    parse_size_mb,
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
)
err = Console(stderr=True, highlight=False)


@app.callback()
def root(ctx: typer.Context) -> None:
    """With no command, open the interactive profiler."""
    if ctx.invoked_subcommand is None:
        from tui.commands.interactive import open_app

        open_app()


@app.command()
def run(
    model: Model = DEFAULT_MODEL,
    weights: Weights = "random",
    device: Device = "cpu",
    dtype: Dtype = "fp32",
    autocast: Annotated[bool, typer.Option(help="Keep fp32 weights, autocast to --dtype.")] = False,
    int8: Annotated[str, typer.Option(help="none, dynamic or weight-only.")] = "none",
    prune: Annotated[str, typer.Option(help="none, unstructured:S or 2:4.")] = "none",
    prune_layers: Annotated[int, typer.Option(help="Drop the last N layers.")] = 0,
    prune_heads: Annotated[int, typer.Option(help="Drop N attention heads per layer.")] = 0,
    attention: Annotated[str, typer.Option(help="eager, sdpa or flash_attention_2.")] = "sdpa",
    compile: Annotated[
        str, typer.Option(help="none, default, max-autotune or reduce-overhead.")
    ] = "none",
    batch_size: Annotated[int, typer.Option("--batch-size", "-b")] = 8,
    token_budget: Annotated[
        int | None, typer.Option(help="Length-sorted batches of at most N padded tokens.")
    ] = None,
    buckets: Annotated[
        str | None, typer.Option(help="Pad to the next of these token lengths, e.g. 128,256,512.")
    ] = None,
    seq_len: SeqLen = None,
    lengths: Lengths = None,
    fasta: Fasta = None,
    num_seqs: Annotated[int | None, typer.Option(help="Sequences to generate.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (model copies).")] = 1,
    devices: Annotated[
        str | None, typer.Option(help="One device per worker, e.g. cuda:0,cuda:1.")
    ] = None,
    memory_limit: Annotated[
        str | None, typer.Option(help="Per-worker memory cap, e.g. 4GB (RLIMIT_AS on CPU).")
    ] = None,
    warmup: Annotated[int, typer.Option(help="Warm-up calls, excluded from statistics.")] = 2,
    duration: Annotated[float, typer.Option(help="Minimum measured seconds.")] = 10.0,
    min_iters: Annotated[int, typer.Option(help="Minimum measured batches.")] = 10,
    max_iters: Annotated[int | None, typer.Option(help="Stop after N measured batches.")] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads per worker.")] = None,
    seed: int = 0,
    quality: Annotated[bool, typer.Option(help="Compare outputs with an fp32 reference.")] = False,
    telemetry_interval: Annotated[float, typer.Option(help="Seconds between samples.")] = 0.5,
    price_per_hour: Annotated[float | None, typer.Option(help="USD per hour, for cost.")] = None,
    instance_type: Annotated[
        str | None, typer.Option(help="Price this instance type (e.g. inf2.xlarge).")
    ] = None,
    peak_tflops: Annotated[float | None, typer.Option(help="Peak TFLOP/s for MFU.")] = None,
    export: Annotated[str | None, typer.Option(help="json, csv or md.")] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="File to write, or - for stdout.")
    ] = None,
    live_json: Annotated[
        str | None, typer.Option(help="Stream one JSON snapshot per line to FILE or -.")
    ] = None,
    results_dir: Annotated[
        Path, typer.Option(help="Every run's JSON Result is also saved here.")
    ] = Path("plmprof-results"),
) -> None:
    """Profile one configuration headless, print a summary and export the Result."""
    from tui.commands.run_command import execute_run

    spec = RunSpec(
        model=model,
        weights=weights,
        device=device,
        dtype=dtype,
        autocast=autocast,
        int8=int8,
        prune=prune,
        prune_layers=prune_layers,
        prune_heads=prune_heads,
        attention=attention,
        compile=compile,
        batch_size=batch_size,
        token_budget=token_budget,
        buckets=buckets_field(buckets),
        num_sequences=num_seqs,
        workers=workers,
        devices=devices_field(devices),
        memory_limit_mb=parse_size_mb(memory_limit) if memory_limit else None,
        warmup=warmup,
        duration_s=duration,
        min_iters=min_iters,
        max_iters=max_iters,
        threads=threads,
        seed=seed,
        quality=quality,
        **WorkloadFlags(seq_len, lengths, fasta).to_spec_fields(),
    )
    options = MeasureOptions(
        telemetry_interval_s=telemetry_interval,
        price_per_hour=price_per_hour,
        instance_type=instance_type,
        peak_tflops=peak_tflops,
    )
    raise typer.Exit(execute_run(spec, options, export, output, live_json, results_dir, err))


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


def invoke(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` and return the exit code: 0 ok, 1 a run that failed
    (its Result is still written), 2 bad input, 130 interrupted."""
    try:
        app(args=argv, prog_name="plmprof")
    except SystemExit as done:  # typer's standalone mode always ends this way
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_BAD_INPUT)
    except PlmprofError as exc:
        err.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        err.print("interrupted")
        return EXIT_INTERRUPTED
    return 0


def main() -> None:
    sys.exit(invoke())
