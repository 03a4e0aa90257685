"""Turn what a run's workers said and what the samplers saw into one Result."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engines.allocator import result_note as allocator_note
from engines.backends.hpu.bridge import MODULE_ENV
from engines.catalog import get_model_info
from engines.errors import InvalidInputError
from engines.messages import Quality
from engines.placement import place
from engines.spec import RunSpec
from profilers.collector import RunCollector, WorkerRecord
from profilers.contention import contention
from profilers.cost import Price, cost, lookup_price, read_instance_type
from profilers.efficiency import PeakLookup, efficiency, peak_tflops, user_peak
from profilers.options import MeasureOptions
from profilers.result import Result, new_run_id
from profilers.telemetry.energy import energy_between
from profilers.telemetry.monitor import TelemetryMonitor
from profilers.telemetry.samples import TelemetrySample
from profilers.throughput import throughput
from profilers.training.section import training_efficiency, training_section
from profilers.utilization import summarize_utilization
from profilers.work import coverage, measured_batch_sizes, measured_work

MB = 1_000_000


@dataclass
class RunClock:
    """Instants of a run on the shared monotonic clock."""

    started: float
    first_batch: float | None = None
    ended: float | None = None

    def mark_first_batch(self, monitor: TelemetryMonitor | None) -> None:
        self.first_batch = time.monotonic()
        if monitor is not None:
            monitor.sample_now()

    def mark_workers_done(self, monitor: TelemetryMonitor | None) -> None:
        """The last worker reported its end: sample the counters right after the window."""
        if monitor is not None:
            monitor.sample_now()


def resolve_price(options: MeasureOptions) -> Price | float | None:
    """The hourly price to cost the run with: user-given, named instance, or detected instance."""
    if options.price_per_hour is not None:
        return options.price_per_hour
    if options.instance_type:
        return lookup_price(options.instance_type, options.price_kind)
    detected = read_instance_type()
    if detected is None:
        return None
    try:
        return lookup_price(detected, options.price_kind)
    except InvalidInputError:
        return None


def peak_for(options: MeasureOptions, device_name: str, dtype: str) -> PeakLookup:
    return (
        user_peak(options.peak_tflops) if options.peak_tflops else peak_tflops(device_name, dtype)
    )


def occupied_units(collector: RunCollector) -> tuple[str, ...]:
    """The compute units every worker that loaded reported running on (repeats included)."""
    return tuple(u for w in collector.workers.values() if w.loaded for u in w.loaded.compute_units)


def _mb(value: int | None) -> float | None:
    return None if value is None else value / MB


def _max(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _worker_row(record: WorkerRecord) -> dict[str, Any]:
    memory = record.memory
    return {
        "index": record.index,
        "device": record.device,
        "device_name": record.loaded.device_name if record.loaded else None,
        "pid": record.pid,
        "status": record.status.value if record.status else None,
        "message": record.message,
        "detail": record.detail or None,
        "iterations": record.iterations,
        "threads": record.loaded.threads if record.loaded else None,
        "load_s": record.loaded.load_s if record.loaded else None,
        "first_call_s": record.warmed.first_call_s if record.warmed else None,
        "max_ram": _mb(memory.rss_peak_bytes) if memory else None,
        "max_allocated": _mb(memory.device_max_allocated_bytes) if memory else None,
        "max_reserved": _mb(memory.device_max_reserved_bytes) if memory else None,
    }


def _weights(report: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    """One worker's weight bytes (``engines.footprint``) in MB, by dtype."""
    found = (report or {}).get(key)
    if not isinstance(found, dict):
        return None
    return {
        "total": found["bytes"] / MB,
        "by_dtype": {dtype: size / MB for dtype, size in found["by_dtype"].items()},
    }


def _memory_section(collector: RunCollector, workers: list[dict[str, Any]]) -> dict[str, Any]:
    ram = [w["max_ram"] for w in workers if w["max_ram"] is not None]
    report = next((w.optimizations for w in collector.workers.values() if w.optimizations), None)
    built = _weights(report, "weights_built")
    return {
        "unit": "MB",
        "max_ram": max(ram) if ram else None,
        "max_ram_total": sum(ram) if ram else None,
        "max_allocated": _max([w["max_allocated"] for w in workers]),
        "max_reserved": _max([w["max_reserved"] for w in workers]),
        # the weights as they run (after precision, int8, 2:4), one worker's copy
        "weights": _weights(report, "weights"),
        "weights_built": built,
        "peak_note": None
        if built is None
        else f"peak RSS includes the weights as built ({built['total']:,.0f} MB) before the "
        "int8 or 2:4 conversion, which replaced them",
        "method": "worker peak RSS (getrusage ru_maxrss, load included); torch allocator peaks "
        "over the measured loop (CUDA); weights: bytes of the model's state as run",
    }


PARAMETERS_COUNTED = (
    "parameters and expected_parameters: every weight of the encoder as built (after structural "
    "pruning), with no language-model head, a pooler only for ProtBERT, ESM's contact head "
    "included; "
    "parameters_run: those of the modules the forward pass runs (the contact head left out); "
    "linear_parameters: the Linear weights each token passes through (the FLOPs count's N)"
)


def _model_section(spec: RunSpec, collector: RunCollector) -> dict[str, Any] | None:
    loaded = next((w.loaded for w in collector.workers.values() if w.loaded), None)
    info = get_model_info(spec.model)
    section: dict[str, Any] = {
        "id": info.id,
        "hub_id": info.hub_id,
        "family": info.family.value,
        "weights": spec.weights,
        "expected_parameters": info.expected_params,
        "parameters_counted": PARAMETERS_COUNTED,
        "notes": list(info.notes),
    }
    if loaded is not None:
        section.update(
            parameters=loaded.shape.parameters,
            linear_parameters=loaded.shape.token_linear_params,
            layers=len(loaded.shape.attn_dims),
            attention_requested=spec.attention,
            attention=loaded.attention,
            load_notes=list(loaded.notes),
        )
    optimized = next((w.optimizations for w in collector.workers.values() if w.optimizations), None)
    if optimized is not None:
        section["optimizations"] = optimized
        section["parameters_run"] = optimized.get("parameters_run")
    return section


def _quality_section(collector: RunCollector) -> dict[str, Any] | None:
    """The drift against the fp32 reference; with several workers, the worst one's."""
    checks = [w.quality for w in collector.workers.values() if w.quality is not None]
    if not checks:
        return None

    def worst_first(check: Quality) -> float:
        low = check.metrics.get("cosine_min")
        return low if low is not None else float("-inf")

    check = min(checks, key=worst_first)
    return {
        "compared": check.compared,
        "reference": check.reference,
        **check.metrics,
        "warning": check.warning,
        "worker": check.worker,
    }


END_TO_END = (
    "end to end: sequence text tokenised, copied to the device, run, embeddings copied to the host"
)
MODEL_ONLY = "model only: batches tokenised and on the device beforehand; the forward call alone"
TRAINING_STEP = (
    "one optimizer step: forward, loss, backward and optimizer over --grad-accum batches "
    "tokenised and on the device beforehand (masked-LM masks drawn before the step)"
)


def timing_scope(spec: RunSpec) -> str:
    """What each timed call covers (a training step, ``--end-to-end`` or the model call alone)."""
    if spec.mode == "training":
        return TRAINING_STEP
    return END_TO_END if spec.end_to_end else MODEL_ONLY


def startup_phases(record: WorkerRecord) -> list[dict[str, Any]]:
    """Where one worker's time went before it measured: the process start (spawn to the worker's
    first word), then each phase it reported, each lasting until the next began (``warming``
    until the first measured batch started). Seconds on the shared monotonic clock."""
    marks = list(record.startup)
    if not marks:  # a worker that reports no phases (a stand-in engine)
        return []
    if record.spawned_at is not None:
        marks.insert(0, ("process start", record.spawned_at))
    ends = [t for _, t in marks[1:]] + [record.first_start]
    return [
        {"phase": name, "seconds": end - began}
        for (name, began), end in zip(marks, ends, strict=True)
        if end is not None
    ]


def _timing_section(collector: RunCollector, clock: RunClock) -> dict[str, Any]:
    records = list(collector.workers.values())
    window = collector.measured_window
    return {
        "unit": "s",
        "load_s": _max([r.loaded.load_s if r.loaded else None for r in records]),
        "first_call_s": _max([r.warmed.first_call_s if r.warmed else None for r in records]),
        "warmup_s": _max([r.warmed.seconds if r.warmed else None for r in records]),
        "warmup_calls": _max([r.warmed.calls if r.warmed else None for r in records]),
        "compile_s": _max([r.compiled.seconds if r.compiled else None for r in records]),
        "recompilations": _max(
            [r.compiled.recompilations if r.compiled else None for r in records]
        ),
        "measured_s": (window[1] - window[0]) if window else None,
        "wall_s": (clock.ended - clock.started) if clock.ended else None,
        # worker 0's start-up, phase by phase, measured in the worker (load_s is "building")
        "startup": startup_phases(records[0]) if records else [],
    }


def gpu_indices(spec: RunSpec) -> list[int]:
    """NVML indices of the GPUs this run uses (``cuda`` alone means GPU 0)."""
    indices = set()
    for device in spec.worker_devices():
        family, _, number = device.partition(":")
        if family == "cuda":
            indices.add(int(number or 0))
    return sorted(indices)


def hpu_modules(spec: RunSpec) -> list[int] | None:
    """Gaudi module ids this run's workers were pinned to (as the session placed them); an empty
    list when a worker was not pinned; None when the run is not on Gaudi."""
    devices = spec.worker_devices()
    on_hpu = [(i, d) for i, d in enumerate(devices) if d.partition(":")[0] == "hpu"]
    if not on_hpu:
        return None
    pins = [place(d, i, len(on_hpu), dict(os.environ)).env.get(MODULE_ENV) for i, d in on_hpu]
    if any(pin is None or not pin.isdigit() for pin in pins):
        return []
    return sorted({int(pin) for pin in pins if pin is not None})


def build_result(
    spec: RunSpec,
    options: MeasureOptions,
    collector: RunCollector,
    samples: Sequence[TelemetrySample],
    environment: dict[str, Any],
    created: str,
    clock: RunClock,
    price: Price | float | None,
    telemetry_reasons: dict[str, str],
) -> Result:
    status, message = collector.status()
    workers = [_worker_row(w) for w in collector.workers.values()]
    result = Result(
        run_id=new_run_id(),
        created_at=created,
        status=status.value,
        message=message,
        spec=spec.to_dict(),
        options=options.to_dict(),
        environment=environment,
        model=_model_section(spec, collector),
        timing=_timing_section(collector, clock),
        memory=_memory_section(collector, workers),
        workers=workers,
        notes=[f"{name}: {reason}" for name, reason in telemetry_reasons.items()],
        quality=_quality_section(collector),
    )
    if result.quality is not None and result.quality.get("warning"):
        result.notes.append(f"quality: {result.quality['warning']}")
    loaded = next((w.loaded for w in collector.workers.values() if w.loaded), None)
    if loaded is not None:
        result.workload = {**vars(loaded.workload)}
        if loaded.workload.truncated:
            result.notes.append(
                f"workload: {loaded.workload.truncated:,} of {loaded.workload.sequences:,} "
                f"sequences cut to the model's window of {loaded.workload.max_residues:,} "
                "residues; every figure is for the cut sequences"
            )
        allocator = allocator_note(loaded.notes)
        if allocator is not None:
            result.notes.append(allocator)
    window = collector.measured_window
    if window is None or loaded is None:
        return result
    work = measured_work(collector)
    batch = collector.batch_latency.cumulative()
    per_sequence = collector.sequence_latency.cumulative()
    result.latency = {
        **(batch.to_dict() if batch else {}),
        "per_sequence": per_sequence.to_dict() if per_sequence else None,
        "clock": "time.monotonic() around each call, device-synchronised (CUDA)",
        "covers": timing_scope(spec),
    }
    rate = throughput(collector.timings)
    result.throughput = rate.to_dict() if rate else None
    if result.throughput is not None:
        result.throughput["covers"] = timing_scope(spec)
    if result.workload is not None:
        result.workload["measured_padding_fraction"] = work.padding_fraction
        result.workload["coverage"] = coverage(spec, collector)
        result.workload["measured_batch_sizes"] = measured_batch_sizes(collector)
    result.utilization = summarize_utilization(samples, window[0], window[1])
    ours = {os.getpid(), *(w.pid for w in collector.workers.values() if w.pid is not None)}
    result.contention = contention(samples, window[0], window[1], ours, gpu_indices(spec))
    if result.contention["contended"]:
        result.notes.append(f"contended: {result.contention['why']}; latencies may be inflated")
    energy = energy_between(
        samples,
        window[0],
        window[1],
        work.sequences,
        gpu_indices=gpu_indices(spec) or None,
        hpu_modules=hpu_modules(spec),
    )
    result.energy = energy.to_dict()
    if spec.mode == "training":
        result.training = training_section(spec, collector, price)
    if rate is not None and rate.window_s > 0:
        peak = peak_for(options, loaded.device_name, spec.dtype)
        if spec.mode == "training":
            result.efficiency = training_efficiency(collector, peak, occupied_units(collector))
        else:
            result.efficiency = {
                "useful_flops": work.useful_flops,
                "padded_flops": work.padded_flops,
                "peak": peak.to_dict(),
                "formula": "2*N*S + 4*sum(d_attn)*S^2 per sequence of S tokens (PaLM appendix B)",
                **efficiency(
                    work.useful_flops,
                    work.padded_flops,
                    work.sequences,
                    rate.window_s,
                    peak,
                    occupied_units(collector),
                ).to_dict(),
            }
        if price is not None:
            result.cost = cost(rate.sequences_per_s, rate.residues_per_s, price).to_dict()
    if result.cost is None:
        result.notes.append("cost: no price known (pass --price-per-hour or --instance-type)")
    return result
