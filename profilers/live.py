"""Live snapshots of a run in progress, made from the collector and the latest telemetry."""

from __future__ import annotations

import time
from collections.abc import Sequence

from engines.spec import RunSpec
from profilers.collector import RunCollector, WorkerRecord
from profilers.cost import Price, cost
from profilers.efficiency import efficiency
from profilers.finalize import RunClock, gpu_indices, occupied_units, peak_for
from profilers.options import MeasureOptions
from profilers.snapshot import Snapshot, WorkerState
from profilers.telemetry.energy import energy_between
from profilers.telemetry.samples import TelemetrySample
from profilers.throughput import known_until, recent_rate
from profilers.training.live import training_live
from profilers.training.section import training_efficiency
from profilers.work import measured_work

# Bins of the live latency histogram: enough for a wide terminal; a narrow one merges them.
HISTOGRAM_BINS = 120


def _progress(spec: RunSpec, record: WorkerRecord, measured_s: float) -> float:
    if record.status == "ok":
        return 1.0
    if record.phase not in ("measuring", "done"):  # a stopped worker keeps what it reached
        return 0.0
    if spec.passes is not None and record.loaded is not None:
        share = len(record.loaded.batches[record.index :: spec.workers])
        return min(1.0, record.iterations / max(1, share * spec.passes))
    if spec.max_iters is not None:
        by_count = record.iterations / spec.max_iters
        by_rule = min(measured_s / spec.duration_s, record.iterations / spec.min_iters)
        return min(1.0, max(by_count, by_rule))
    return min(1.0, measured_s / spec.duration_s, record.iterations / spec.min_iters)


def _worker_state(record: WorkerRecord) -> WorkerState:
    memory = record.memory
    return WorkerState(
        index=record.index,
        device=record.device,
        phase=record.phase,
        status=record.status.value if record.status else None,
        iterations=record.iterations,
        rss_bytes=memory.rss_peak_bytes if memory else None,
        device_allocated_bytes=memory.device_max_allocated_bytes if memory else None,
        device_reserved_bytes=memory.device_max_reserved_bytes if memory else None,
        message=record.message,
    )


def make_snapshot(
    spec: RunSpec,
    options: MeasureOptions,
    collector: RunCollector,
    clock: RunClock,
    latest: TelemetrySample | None,
    samples: Sequence[TelemetrySample],
    price: Price | float | None,
) -> Snapshot:
    now = time.monotonic()
    window = collector.measured_window
    measured_s = (window[1] - window[0]) if window else 0.0
    records = list(collector.workers.values())
    progress = sum(_progress(spec, r, measured_s) for r in records) / len(records)
    running = {r.index for r in records if r.status is None}
    frontier = known_until(collector.timings, running)
    seq_window = (
        None if frontier is None else recent_rate(collector.timings, frontier, options.window_s)
    )
    seq_s = tok_s = res_s = mfu = energy_j = j_per_seq = cost_1m = None
    sequences = 0
    if window is not None and measured_s > 0:
        work = measured_work(collector)
        sequences = work.sequences
        seq_s = work.sequences / measured_s
        tok_s = work.padded_tokens / measured_s
        res_s = work.residues / measured_s
        loaded = next(r.loaded for r in records if r.loaded is not None)
        peak = peak_for(options, loaded.device_name, spec.dtype)
        if spec.mode == "training":
            figures = training_efficiency(collector, peak, occupied_units(collector))
            mfu = figures.get("useful_mfu") if figures else None
        else:
            mfu = efficiency(
                work.useful_flops,
                work.padded_flops,
                work.sequences,
                measured_s,
                peak,
                occupied_units(collector),
            ).useful_mfu
        energy = energy_between(
            samples, window[0], window[1], work.sequences, gpu_indices=gpu_indices(spec) or None
        )
        energy_j, j_per_seq = energy.joules, energy.joules_per_sequence
        if price is not None:
            cost_1m = cost(seq_s, res_s, price).per_million_sequences
    workload = next((r.loaded.workload for r in records if r.loaded is not None), None)
    return Snapshot(
        elapsed_s=now - clock.started,
        measured_s=measured_s,
        progress=progress,
        batches=len(collector.timings),
        sequences=sequences,
        latency_window=collector.batch_latency.window(now, options.window_s),
        latency_total=collector.batch_latency.cumulative(),
        latency_histogram=collector.batch_latency.histogram(HISTOGRAM_BINS),
        sequences_per_s=seq_s,
        tokens_per_s=tok_s,
        residues_per_s=res_s,
        sequences_per_s_window=seq_window,
        useful_mfu=mfu,
        energy_j=energy_j,
        joules_per_sequence=j_per_seq,
        cost_per_million=cost_1m,
        workers=tuple(_worker_state(r) for r in records),
        telemetry=latest,
        window_s=options.window_s,
        training=training_live(collector) if spec.mode == "training" else None,
        truncated=workload.truncated if workload else 0,
        max_residues=workload.max_residues if workload else None,
    )
