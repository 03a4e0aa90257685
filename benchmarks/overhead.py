"""Measure plmprof's own cost directly and print the figures.

(One script over plmprof's ~400-line guide: a benchmark is read top to bottom as one experiment,
its three parts share their timing helpers, and nothing imports it.)

(a) samplers: CPU seconds the telemetry thread uses per second of run, sampling at 10 Hz the
    sources a run samples (host always; NVML and neuron-monitor where present).
(b) harness: the worker loop's time per batch outside the model call (engines.runner's
    ``_measure`` and ``_timed_call`` around a stand-in model that sleeps 1 ms, each BatchDone
    sent over a real pipe to a parent draining it), the same loop around a no-op model with and
    without the pipe, and the parent's CPU per message (``RunCollector.handle``) and per live
    snapshot (``make_snapshot``) as the number of measured batches grows.
(c) throughput: plmprof's headline sequences/s (a full Session with telemetry and live
    snapshots) against a bare loop calling the same model on the same input in a fresh process
    with the same thread count, interleaved, with 95% confidence intervals.

    python benchmarks/overhead.py                          # everything, a few minutes
    python benchmarks/overhead.py --parts sampler,harness  # the quick parts only
    python benchmarks/overhead.py --rounds 7 --duration 5 --json overhead.json
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engines.backends.torch_device import TORCH_DTYPES, open_device
from engines.builders import build_model
from engines.catalog import get_model_info
from engines.detect import cpu_name
from engines.inputs import plan_workload, to_tensors
from engines.messages import BatchDone, Loaded, Status, WorkerMessage
from engines.runner import _measure, forward
from engines.spec import RunSpec
from engines.structure import ModelShape
from profilers.collector import RunCollector
from profilers.finalize import RunClock
from profilers.live import make_snapshot
from profilers.options import MeasureOptions
from profilers.session import Session, build_monitor
from profilers.telemetry.host import HostSampler

# Two-sided 95% Student t quantiles by degrees of freedom (beyond 30: the normal 1.96).
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% confidence interval (Student t)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, math.nan
    df = len(values) - 1
    t = _T95[df - 1] if df <= len(_T95) else 1.96
    return mean, t * statistics.stdev(values) / math.sqrt(len(values))


# --- (a) the samplers -----------------------------------------------------------------------


def sampler_cost(seconds: float, interval_s: float) -> dict[str, Any]:
    """Run the monitor a run would build, watching this process, for ``seconds``."""
    options = MeasureOptions(telemetry_interval_s=interval_s)
    monitor = build_monitor(options, HostSampler([os.getpid()]))
    assert monitor is not None
    sources = ["host"]
    sources += ["nvml"] if monitor._nvml is not None else []
    sources += ["neuron-monitor"] if monitor._neuron is not None else []
    began = time.monotonic()
    monitor.start()
    time.sleep(seconds)
    monitor.stop()
    wall = time.monotonic() - began
    cpu, samples = monitor.cpu_time_s, monitor.samples_taken
    monitor.close()
    return {
        "interval_s": interval_s,
        "wall_s": wall,
        "samples": samples,
        "sources": sources,
        "cpu_s": cpu,
        "cpu_s_per_s": cpu / wall,
        "percent_of_one_core": 100 * cpu / wall,
        "cpu_us_per_sample": 1e6 * cpu / samples if samples else None,
    }


# --- (b) the harness ------------------------------------------------------------------------


class NoOp(nn.Module):
    """A model that does nothing: the timed call measures only the call itself."""

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return input_ids


class Sleeper(NoOp):
    """A stand-in model that takes ``seconds`` per call, as a real one takes its time: the parent
    then keeps up with the messages, as it does in a real run."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        time.sleep(self.seconds)
        return input_ids


def _harness_spec(iterations: int) -> RunSpec:
    return RunSpec(
        seq_len=16,
        batch_size=1,
        num_sequences=1,
        duration_s=1e9,
        min_iters=iterations,
        max_iters=iterations,
        threads=1,
    )


def _loaded(spec: RunSpec) -> tuple[Loaded, list[Any]]:
    planned = plan_workload(spec, get_model_info(spec.model))
    loaded = Loaded(
        worker=0,
        device="cpu",
        device_name="stand-in model",
        load_s=0.0,
        shape=ModelShape(0, 0, 0, ()),
        attention="eager",
        rss_bytes=0,
        device_allocated_bytes=None,
        workload=planned.summary,
        batches=planned.batches,
        lengths=tuple(len(p.sequence) for p in planned.proteins),
        special_tokens=planned.tokenizer.special_tokens,
        threads=1,
        compute_units=("cpu",),
    )
    return loaded, to_tensors(planned, torch.device("cpu"))


def harness_worker(
    iterations: int, call_s: float, conn: Connection | None, stop: Any, report: Connection
) -> None:
    """The worker's measured loop (engines.runner._measure) around a stand-in model.

    With ``conn`` each message goes over the pipe as in a run; without it ``send`` drops it.
    Reports (batches, loop wall seconds, loop CPU seconds of this thread) on ``report``.
    """
    torch.set_num_threads(1)
    spec = _harness_spec(iterations)
    loaded, batches = _loaded(spec)
    device = open_device("cpu", "fp32")
    send: Callable[[WorkerMessage], None] = conn.send if conn is not None else (lambda m: None)
    if conn is not None:
        conn.send(loaded)
    model = (Sleeper(call_s) if call_s > 0 else NoOp()).eval()

    def call(batch: Any) -> object:
        return forward(model, batch)

    warm = spec.replace(min_iters=min(iterations, 500), max_iters=min(iterations, 500))
    with torch.inference_mode():
        _measure(0, warm, call, batches, device, send, stop.is_set)  # warm the code paths
        cpu0, began = time.thread_time(), time.monotonic()
        _, done = _measure(0, spec, call, batches, device, send, stop.is_set)
        wall, cpu = time.monotonic() - began, time.thread_time() - cpu0
    if conn is not None:
        conn.close()
    report.send((done, wall, cpu))
    report.close()


def _drain(conn: Connection, collector: RunCollector, keep: list[BatchDone]) -> dict[str, float]:
    """Receive and handle every message as Session._drain does, timing each (wall and CPU)."""
    count = wall_ns = cpu_ns = handle_cpu_ns = 0
    while True:
        wait([conn], timeout=0.1)
        try:
            while conn.poll():
                w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                message = conn.recv()
                c1 = time.thread_time_ns()
                collector.handle(message)
                c2, w2 = time.thread_time_ns(), time.perf_counter_ns()
                count += 1
                wall_ns += w2 - w0
                cpu_ns += c2 - c0
                handle_cpu_ns += c2 - c1
                if isinstance(message, BatchDone):
                    keep.append(message)
        except (EOFError, OSError):
            return {
                "messages": count,
                "recv_handle_wall_us": wall_ns / count / 1e3,
                "recv_handle_cpu_us": cpu_ns / count / 1e3,
                "handle_cpu_us": handle_cpu_ns / count / 1e3,
            }


def _snapshot_ms(spec: RunSpec, loaded: Loaded, messages: Sequence[BatchDone]) -> float:
    """CPU milliseconds of one ``make_snapshot`` after ``messages`` batches were measured."""
    collector = RunCollector(("cpu",))
    collector.handle(loaded)
    for message in messages:
        collector.handle(message)
    options = MeasureOptions()
    clock = RunClock(started=messages[0].start)
    clock.first_batch = messages[0].start
    calls = 20
    began = time.thread_time()
    for _ in range(calls):
        make_snapshot(spec, options, collector, clock, None, [], None)
    return 1e3 * (time.thread_time() - began) / calls


def _harness_case(iterations: int, call_s: float, piped: bool) -> dict[str, Any]:
    context = mp.get_context("spawn")
    stop = context.Event()
    report_parent, report_child = context.Pipe(duplex=False)
    parent_end, child_end = context.Pipe(duplex=False)
    process = context.Process(
        target=harness_worker,
        args=(iterations, call_s, child_end if piped else None, stop, report_child),
    )
    process.start()
    child_end.close()
    report_child.close()
    kept: list[BatchDone] = []
    parent = _drain(parent_end, RunCollector(("cpu",)), kept) if piped else None
    done, wall, cpu = report_parent.recv()
    process.join()
    parent_end.close()
    figures: dict[str, Any] = {
        "batches": done,
        "call_s": call_s,
        "pipe": piped,
        "loop_wall_us_per_batch": 1e6 * wall / done,
        "loop_cpu_us_per_batch": 1e6 * cpu / done,
        "batches_per_s": done / wall,
    }
    if piped:
        measured = kept[-done:]  # the measured loop's batches (the first ones warmed up)
        timed = sum(m.end - m.start for m in measured)
        figures["timed_call_us"] = 1e6 * timed / done
        figures["outside_call_wall_us_per_batch"] = 1e6 * (wall - timed) / done
        figures["parent"] = parent
        figures["kept"] = measured
    return figures


def harness_cost(iterations: int, model_batches: int, call_s: float) -> dict[str, Any]:
    spec = _harness_spec(iterations)
    loaded, _ = _loaded(spec)
    realistic = _harness_case(model_batches, call_s, piped=True)
    saturated = _harness_case(iterations, 0.0, piped=True)
    alone = _harness_case(iterations, 0.0, piped=False)
    measured = saturated.pop("kept")
    realistic.pop("kept")
    sizes = sorted({min(1000, len(measured)), min(10_000, len(measured)), len(measured)})
    return {
        "model_call": realistic,
        "noop_pipe": saturated,
        "noop_no_pipe": alone,
        "snapshot_cpu_ms": {n: _snapshot_ms(spec, loaded, measured[:n]) for n in sizes},
    }


# --- (c) throughput against a bare loop ------------------------------------------------------


def bare_loop(spec_data: dict[str, Any], report: Connection) -> None:
    """Same model, weights, input and threads as plmprof's worker; a plain timed loop."""
    spec = RunSpec.from_dict(spec_data)
    if spec.threads:
        torch.set_num_threads(spec.threads)
    info = get_model_info(spec.model)
    model = build_model(
        info,
        weights=spec.weights,
        attention=spec.attention,
        device="cpu",
        dtype=TORCH_DTYPES[spec.dtype],
        seed=spec.seed,
    ).module
    batches = to_tensors(plan_workload(spec, info), torch.device("cpu"))
    with torch.inference_mode():
        for batch in (batches * spec.warmup)[: spec.warmup]:
            model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
        sequences, count = 0, 0
        first = last = time.monotonic()
        while True:
            batch = batches[count % len(batches)]
            start = time.monotonic()
            model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
            last = time.monotonic()
            if count == 0:
                first = start
            count += 1
            sequences += batch.batch.sequences
            if count >= spec.min_iters and last - first >= spec.duration_s:
                break
    report.send((sequences / (last - first), count, torch.get_num_threads()))
    report.close()


def run_bare(spec: RunSpec) -> tuple[float, int, int]:
    context = mp.get_context("spawn")
    parent_end, child_end = context.Pipe(duplex=False)
    process = context.Process(target=bare_loop, args=(spec.to_dict(), child_end))
    process.start()
    child_end.close()
    try:
        result: tuple[float, int, int] = parent_end.recv()
    except EOFError:
        process.join()
        raise RuntimeError(
            f"the bare loop's process died (exit code {process.exitcode}) before reporting"
        ) from None
    process.join()
    return result


def run_plmprof(spec: RunSpec) -> tuple[float, int, int]:
    # A live callback, as the CLI has: the session then makes a snapshot every 0.25 s.
    result = Session(spec, MeasureOptions(), on_snapshot=lambda snapshot: None).run()
    if result.status != Status.OK or result.throughput is None:
        raise RuntimeError(f"plmprof run failed: {result.status}: {result.message}")
    threads = int(result.workers[0].get("threads") or spec.threads or 0)
    return float(result.throughput["sequences_per_s"]), int(result.throughput["batches"]), threads


def throughput_comparison(
    model: str, batch_size: int, seq_len: int, duration: float, rounds: int, threads: int
) -> dict[str, Any]:
    spec = RunSpec(
        model=model,
        batch_size=batch_size,
        seq_len=seq_len,
        num_sequences=batch_size,  # one batch, the same input every call on both sides
        duration_s=duration,
        threads=threads,
        warmup=2,
    )
    ours: list[float] = []
    bare: list[float] = []
    rows = []
    for number in range(rounds):
        order = ("plmprof", "bare") if number % 2 == 0 else ("bare", "plmprof")
        got: dict[str, tuple[float, int, int]] = {}
        try:
            for side in order:
                got[side] = run_plmprof(spec) if side == "plmprof" else run_bare(spec)
        except RuntimeError as error:  # e.g. the code changed under a long benchmark
            print(f"  round {number + 1} failed: {error}; stopping after {number} rounds")
            break
        ours.append(got["plmprof"][0])
        bare.append(got["bare"][0])
        rows.append({"order": list(order), **{k: list(v) for k, v in got.items()}})
        print(
            f"  round {number + 1}: plmprof {got['plmprof'][0]:.2f} seq/s "
            f"({got['plmprof'][1]} batches), bare {got['bare'][0]:.2f} seq/s "
            f"({got['bare'][1]} batches, {got['bare'][2]} threads), "
            f"ratio {got['plmprof'][0] / got['bare'][0]:.4f}",
            flush=True,
        )
    if len(ours) < 2:
        raise SystemExit("error: fewer than two complete rounds; no confidence interval")
    ratios = [a / b for a, b in zip(ours, bare, strict=True)]
    return {
        "spec": {"model": model, "batch": batch_size, "seq_len": seq_len, "duration_s": duration},
        "threads": threads,
        "rounds": rows,
        "plmprof_seq_s": mean_ci95(ours),
        "bare_seq_s": mean_ci95(bare),
        "ratio": mean_ci95(ratios),
    }


# --- main -----------------------------------------------------------------------------------


def _machine() -> str:
    return (
        f"{cpu_name()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
        f"torch {torch.__version__}, {platform.system()} {platform.release()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="sampler,harness,throughput")
    parser.add_argument("--sampler-seconds", type=float, default=20.0)
    parser.add_argument("--sampler-interval", type=float, default=0.1)
    parser.add_argument("--harness-batches", type=int, default=20_000)
    parser.add_argument("--harness-model-batches", type=int, default=3000)
    parser.add_argument("--harness-call-ms", type=float, default=1.0)
    parser.add_argument("--model", default="esm2_t6_8M")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures here.")
    args = parser.parse_args(argv)
    parts = {part.strip() for part in args.parts.split(",") if part.strip()}
    unknown = parts - {"sampler", "harness", "throughput"}
    if unknown:
        print(f"error: unknown part(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    figures: dict[str, Any] = {"machine": _machine()}
    print(f"machine: {figures['machine']}", flush=True)

    if "sampler" in parts:
        print(
            f"\n(a) samplers at {1 / args.sampler_interval:g} Hz for {args.sampler_seconds:g} s",
            flush=True,
        )
        a = figures["sampler"] = sampler_cost(args.sampler_seconds, args.sampler_interval)
        print(
            f"  sources: {', '.join(a['sources'])}; {a['samples']} samples in {a['wall_s']:.1f} s"
        )
        print(
            f"  sampler CPU: {a['cpu_s'] * 1e3:.1f} ms over the run = "
            f"{a['cpu_s_per_s'] * 1e3:.2f} ms per second = {a['percent_of_one_core']:.3f}% "
            f"of one core (goal < 1%); {a['cpu_us_per_sample']:.0f} µs per sample"
        )

    if "harness" in parts:
        print(
            f"\n(b) harness: engines.runner._measure, {args.harness_model_batches} batches of a "
            f"{args.harness_call_ms:g} ms stand-in model, then {args.harness_batches} of a no-op",
            flush=True,
        )
        b = figures["harness"] = harness_cost(
            args.harness_batches, args.harness_model_batches, args.harness_call_ms / 1e3
        )
        real, noop, alone = b["model_call"], b["noop_pipe"], b["noop_no_pipe"]
        print(
            f"  outside the model call, per batch ({args.harness_call_ms:g} ms model, BatchDone "
            f"over a pipe to a draining parent): {real['outside_call_wall_us_per_batch']:.1f} µs "
            f"wall (goal < 100 µs); worker CPU for the whole loop "
            f"{real['loop_cpu_us_per_batch']:.1f} µs per batch"
        )
        print(
            f"  no-op model, no pipe: {alone['loop_wall_us_per_batch']:.1f} µs per batch wall, "
            f"{alone['loop_cpu_us_per_batch']:.1f} µs CPU (the loop and the timed call alone)"
        )
        print(
            f"  no-op model over the pipe: {noop['batches_per_s']:,.0f} batches/s at most "
            f"({noop['loop_wall_us_per_batch']:.1f} µs per batch; the worker waits for the "
            "parent once the pipe is full)"
        )
        parent = real["parent"]
        saturated = noop["parent"]
        print(
            f"  parent per message: recv + RunCollector.handle {parent['recv_handle_cpu_us']:.1f}"
            f" µs CPU ({parent['recv_handle_wall_us']:.1f} µs wall), handle alone "
            f"{parent['handle_cpu_us']:.1f} µs CPU; under a flood of messages "
            f"{saturated['recv_handle_cpu_us']:.1f} µs CPU"
        )
        for size, ms in b["snapshot_cpu_ms"].items():
            share = 100 * ms / 1e3 / MeasureOptions().snapshot_interval_s
            print(
                f"  make_snapshot after {size:,} measured batches: {ms:.2f} ms CPU "
                f"({share:.1f}% of one core at one snapshot per 0.25 s)"
            )

    if "throughput" in parts:
        print(
            f"\n(c) throughput: {args.model}, batch {args.batch_size} x {args.seq_len} residues, "
            f"CPU, {args.threads} threads, {args.duration:g} s per run, {args.rounds} interleaved "
            "rounds",
            flush=True,
        )
        c = figures["throughput"] = throughput_comparison(
            args.model, args.batch_size, args.seq_len, args.duration, args.rounds, args.threads
        )
        (pm, ph), (bm, bh), (rm, rh) = c["plmprof_seq_s"], c["bare_seq_s"], c["ratio"]
        print(f"  {len(c['rounds'])} complete rounds")
        print(f"  plmprof: {pm:.2f} ± {ph:.2f} seq/s (mean ± 95% CI half-width)")
        print(f"  bare:    {bm:.2f} ± {bh:.2f} seq/s")
        print(
            f"  ratio plmprof / bare (paired by round): {rm:.4f} ± {rh:.4f} "
            f"(95% CI {rm - rh:.4f} to {rm + rh:.4f})"
        )

    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
