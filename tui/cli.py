"""``plmprof``: the command line. Parses flags into a RunSpec and MeasureOptions, prints results.

The only layer that prints. Every ``PlmprofError`` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from engines.catalog import DEFAULT_MODEL
from engines.errors import PlmprofError
from engines.spec import RunSpec, parse_size_mb
from profilers.options import MeasureOptions
from tui.options import (
    Device,
    Dtype,
    Fasta,
    HpuGraphs,
    HpuMode,
    InstanceType,
    Lengths,
    Model,
    NeuronDataParallel,
    NeuronOptlevel,
    NeuronTarget,
    PeakTflops,
    PricePerHour,
    ResultsDir,
    SeqLen,
    Weights,
    WorkloadFlags,
    buckets_field,
    devices_field,
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
def root(
    ctx: typer.Context,
    results_dir: ResultsDir = Path("plmprof-results"),
    price_per_hour: PricePerHour = None,
    instance_type: InstanceType = None,
    peak_tflops: PeakTflops = None,
) -> None:
    """With no command, open the interactive profiler (these options are for it)."""
    if ctx.invoked_subcommand is None:
        from tui.commands.interactive import open_app

        options = MeasureOptions(
            price_per_hour=price_per_hour, instance_type=instance_type, peak_tflops=peak_tflops
        )
        open_app(results_dir, options)


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
    attention: Annotated[
        str,
        typer.Option(help="eager, sdpa or flash_attention_2; with --packing sdpa, varlen, flex."),
    ] = "sdpa",
    packing: Annotated[
        bool, typer.Option(help="Pack sequences end to end in rows of --token-budget tokens.")
    ] = False,
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
    neuron_target: NeuronTarget = "inf2",
    optlevel: NeuronOptlevel = 2,
    data_parallel: NeuronDataParallel = False,
    hpu_mode: HpuMode = "lazy",
    hpu_graphs: HpuGraphs = False,
    telemetry_interval: Annotated[float, typer.Option(help="Seconds between samples.")] = 0.5,
    price_per_hour: PricePerHour = None,
    instance_type: InstanceType = None,
    peak_tflops: PeakTflops = None,
    export: Annotated[str | None, typer.Option(help="json, csv or md.")] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="File to write, or - for stdout.")
    ] = None,
    live_json: Annotated[
        str | None, typer.Option(help="Stream one JSON snapshot per line to FILE or -.")
    ] = None,
    results_dir: ResultsDir = Path("plmprof-results"),
) -> None:
    """Profile one configuration headless, print a summary and export the Result."""
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
        packing=packing,
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
        neuron_target=neuron_target,
        neuron_optlevel=optlevel,
        neuron_data_parallel=data_parallel,
        hpu_mode=hpu_mode,
        hpu_graphs=hpu_graphs,
        **WorkloadFlags(seq_len, lengths, fasta).to_spec_fields(),
    )
    options = MeasureOptions(
        telemetry_interval_s=telemetry_interval,
        price_per_hour=price_per_hour,
        instance_type=instance_type,
        peak_tflops=peak_tflops,
    )
    from tui.commands.run_command import execute_run  # heavy (torch): after validation

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


@app.command("compile")
def compile_neuron(
    model: Model = DEFAULT_MODEL,
    weights: Weights = "random",
    dtype: Dtype = "fp32",
    neuron_target: NeuronTarget = "inf2",
    optlevel: NeuronOptlevel = 2,
    attention: Annotated[str, typer.Option(help="eager or sdpa.")] = "sdpa",
    batch_size: Annotated[int, typer.Option("--batch-size", "-b")] = 8,
    buckets: Annotated[
        str | None, typer.Option(help="Token lengths to compile, e.g. 128,256,512.")
    ] = None,
    seq_len: SeqLen = None,
    lengths: Lengths = None,
    fasta: Fasta = None,
    num_seqs: Annotated[int | None, typer.Option(help="Sequences to generate.")] = None,
    data_parallel: NeuronDataParallel = False,
    cpu_backend: Annotated[
        bool | None, typer.Option(help="Compile without a device (default: when none is here).")
    ] = None,
    seed: int = 0,
) -> None:
    """Compile the Neuron buckets a run needs into the compile cache, ahead of the run."""
    spec = RunSpec(
        model=model,
        weights=weights,
        device="neuron",
        dtype=dtype,
        attention=attention,
        batch_size=batch_size,
        buckets=buckets_field(buckets),
        num_sequences=num_seqs,
        seed=seed,
        neuron_target=neuron_target,
        neuron_optlevel=optlevel,
        neuron_data_parallel=data_parallel,
        **WorkloadFlags(seq_len, lengths, fasta).to_spec_fields(),
    )
    from tui.commands.compile_command import execute_compile  # heavy (torch): after validation

    raise typer.Exit(execute_compile(spec, cpu_backend, Console(), err))


@app.command()
def sweep(
    grid: Annotated[
        Path | None, typer.Option(help="Grid file: TOML (YAML when pyyaml is installed).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Sweep folder (default plmprof-sweep-<time>)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue the sweep in --output; saved points are not rerun.")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="List the points; run nothing.")] = False,
    max_batch: Annotated[
        bool, typer.Option(help="Find the largest batch that fits in memory, per point.")
    ] = False,
    max_batch_limit: Annotated[int, typer.Option(help="Largest batch --max-batch tries.")] = 1024,
    models: Annotated[
        str | None, typer.Option("--models", "--model", "-m", help="Model ids, comma-separated.")
    ] = None,
    devices: Annotated[
        str | None, typer.Option("--devices", "--device", "-d", help="e.g. cpu,cuda.")
    ] = None,
    dtypes: Annotated[
        str | None, typer.Option("--dtypes", "--dtype", help="e.g. fp32,bf16.")
    ] = None,
    batch_sizes: Annotated[
        str | None, typer.Option("--batch-sizes", "--batch-size", "-b", help="e.g. 1,8,32.")
    ] = None,
    int8: Annotated[str | None, typer.Option(help="e.g. none,dynamic.")] = None,
    attentions: Annotated[
        str | None, typer.Option("--attentions", "--attention", help="e.g. eager,sdpa.")
    ] = None,
    compiles: Annotated[
        str | None, typer.Option("--compiles", "--compile", help="e.g. none,default.")
    ] = None,
    prunes: Annotated[
        str | None, typer.Option("--prunes", "--prune", help="e.g. none,2:4.")
    ] = None,
    seq_lens: Annotated[
        str | None, typer.Option("--seq-lens", "--seq-len", help="Residues, e.g. 128,512.")
    ] = None,
    lengths: Annotated[str | None, typer.Option(help="Length distributions.")] = None,
    token_budgets: Annotated[
        str | None, typer.Option("--token-budgets", "--token-budget", help="e.g. 8192,65536.")
    ] = None,
    weights: Annotated[str | None, typer.Option(help="random, cache or a path.")] = None,
    autocast: Annotated[bool | None, typer.Option("--autocast/--no-autocast")] = None,
    packing: Annotated[bool | None, typer.Option("--packing/--no-packing")] = None,
    prune_layers: Annotated[int | None, typer.Option()] = None,
    prune_heads: Annotated[int | None, typer.Option()] = None,
    buckets: Annotated[str | None, typer.Option(help="Token lengths, e.g. 128,256.")] = None,
    fasta: Annotated[str | None, typer.Option(help="FASTA file to embed.")] = None,
    num_seqs: Annotated[int | None, typer.Option()] = None,
    workers: Annotated[int | None, typer.Option()] = None,
    memory_limit: Annotated[str | None, typer.Option(help="Per-worker cap, e.g. 4GB.")] = None,
    warmup: Annotated[int | None, typer.Option()] = None,
    duration: Annotated[float | None, typer.Option(help="Minimum measured seconds.")] = None,
    min_iters: Annotated[int | None, typer.Option()] = None,
    max_iters: Annotated[int | None, typer.Option()] = None,
    threads: Annotated[int | None, typer.Option()] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    quality: Annotated[bool | None, typer.Option("--quality/--no-quality")] = None,
    telemetry_interval: Annotated[float | None, typer.Option()] = None,
    price_per_hour: PricePerHour = None,
    instance_type: InstanceType = None,
    peak_tflops: PeakTflops = None,
) -> None:
    """Run a grid of configurations (comma lists make axes), one Result per point, and a report."""
    from tui.commands.sweep_command import execute_sweep

    flags = {
        "models": models,
        "devices": devices,
        "dtypes": dtypes,
        "batch_sizes": batch_sizes,
        "int8": int8,
        "attentions": attentions,
        "compiles": compiles,
        "prunes": prunes,
        "seq_lens": seq_lens,
        "lengths": lengths,
        "token_budgets": token_budgets,
        "weights": weights,
        "autocast": autocast,
        "packing": packing,
        "prune_layers": prune_layers,
        "prune_heads": prune_heads,
        "buckets": buckets,
        "fasta": fasta,
        "num_seqs": num_seqs,
        "workers": workers,
        "memory_limit": memory_limit,
        "warmup": warmup,
        "duration": duration,
        "min_iters": min_iters,
        "max_iters": max_iters,
        "threads": threads,
        "seed": seed,
        "quality": quality,
        "telemetry_interval": telemetry_interval,
        "price_per_hour": price_per_hour,
        "instance_type": instance_type,
        "peak_tflops": peak_tflops,
    }
    raise typer.Exit(
        execute_sweep(flags, grid, output, resume, dry_run, max_batch, max_batch_limit, err)
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
) -> None:
    """Benchmark tables from saved Results: setup, best settings, Pareto front, speed-ups."""
    from tui.commands.report_command import execute_report

    raise typer.Exit(execute_report(results_dir, export, output, plots, plots_dir, err))


@app.command()
def compare(
    a: Annotated[Path, typer.Argument(help="Reference Result JSON.")],
    b: Annotated[Path, typer.Argument(help="Result JSON to check against A.")],
    metric: Annotated[str, typer.Option(help="throughput, p50 or p99.")] = "throughput",
    fail_if_slower: Annotated[
        str | None, typer.Option(help="Exit 1 when B is slower than A by more than this, e.g. 5%.")
    ] = None,
) -> None:
    """Two Results side by side with ratios; a CI guard with --fail-if-slower."""
    from tui.commands.compare_command import execute_compare

    raise typer.Exit(execute_compare(a, b, metric, fail_if_slower, Console(), err))


@app.command()
def top(
    interval: Annotated[float, typer.Option(help="Seconds between refreshes.")] = 0.5,
    once: Annotated[bool, typer.Option(help="Print one snapshot and exit.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of tables.")] = False,
    count: Annotated[int | None, typer.Option(help="Stop after N refreshes.")] = None,
    neuron_monitor_replay: Annotated[
        Path | None, typer.Option(help="Play back a recorded neuron-monitor JSON-lines file.")
    ] = None,
) -> None:
    """Watch GPUs, NeuronCores and the host live, without running a model (q or Ctrl-C quits)."""
    from tui.commands.top_command import execute_top

    raise typer.Exit(execute_top(interval, once, as_json, count, neuron_monitor_replay, Console()))


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
