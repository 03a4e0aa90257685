"""The Result's ``training`` section, and a training run's efficiency (model and hardware FLOPs).

Step times are the collector's measured steps (warm-up steps excluded, the first step reported
apart); throughput comes from the same measured window as inference (``profilers.throughput``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from engines.batching import Batch
from engines.messages import StepDone
from engines.spec import RunSpec
from engines.training.shape import TrainedShape
from profilers.collector import RunCollector, WorkerRecord
from profilers.cost import Price
from profilers.efficiency import PeakLookup, efficiency
from profilers.stats import summarize
from profilers.training.flops import ZERO, StepFlops, training_flops

MB = 1_000_000
PHASES = ("forward", "backward", "optimizer")


def _records(collector: RunCollector) -> list[WorkerRecord]:
    return [w for w in collector.workers.values() if w.training is not None]


def measured_flops(collector: RunCollector) -> tuple[StepFlops, StepFlops]:
    """Training FLOPs of every measured step, on real tokens and on padded tokens."""
    useful = padded = ZERO
    for (worker, number), times in collector.batch_counts.items():
        record = collector.workers[worker]
        assert record.loaded is not None and record.training is not None
        trained = TrainedShape(**record.training["trained"])
        batch = record.loaded.batches[number]
        assert isinstance(batch, Batch)  # training refuses packing
        special = record.loaded.special_tokens
        real = [record.loaded.lengths[i] + special for i in batch.indices]
        width = [batch.padded_len] * batch.rows
        shape = record.loaded.shape
        useful = useful + training_flops(shape, trained, real).times(times)
        padded = padded + training_flops(shape, trained, width).times(times)
    return useful, padded


def _phases(steps: Sequence[StepDone], separable: bool, method: str) -> dict[str, Any]:
    timed = [s for s in steps if not s.warmup and s.phases is not None]
    if not separable or not timed:
        return {
            "separable": False,
            "method": method,
            "reason": "the device runs forward, backward and optimizer as one graph: "
            "only whole steps are timed",
        }
    total = sum(sum(s.phases.values()) for s in timed if s.phases)
    out: dict[str, Any] = {"separable": True, "method": method, "steps": len(timed)}
    for name in PHASES:
        values = [s.phases[name] for s in timed if s.phases]
        summary = summarize(values)
        out[name] = {
            "mean_s": summary.mean if summary else None,
            "p50_s": summary.p50 if summary else None,
            "share": sum(values) / total if total else None,
        }
    return out


def _memory(record: WorkerRecord, trained: TrainedShape, steps: Sequence[StepDone]) -> dict:
    memory = dict((record.training or {}).get("memory") or {})
    state = memory.get("optimizer_state_bytes")
    first = next((s.device_peak_bytes for s in steps if s.step == 0), None)
    later = [s.device_peak_bytes for s in steps if s.step > 0 and s.device_peak_bytes is not None]
    return {
        "unit": "MB",
        "parameters": _mb(memory.get("parameters_bytes")),
        "gradients": _mb(memory.get("gradients_bytes")),
        "optimizer_state": _mb(state),
        "optimizer_state_bytes_per_trainable_parameter": (
            state / trained.trainable if state is not None and trained.trainable else None
        ),
        "activations_saved": _mb(memory.get("activations_saved_bytes")),
        "activations_method": memory.get("activations_method"),
        "first_step_peak_allocated": _mb(first),
        "steady_peak_allocated": _mb(max(later)) if later else None,
        "max_ram": _mb(record.memory.rss_peak_bytes) if record.memory else None,
        "method": "parameters, gradients and optimizer state read after the first step "
        "(AdamW allocates its state then); peaks from the CUDA allocator (first step apart); "
        "max_ram is the worker's peak RSS (CPU)",
    }


def _mb(value: float | None) -> float | None:
    return None if value is None else value / MB


def _time_to_train(
    spec: RunSpec, info: dict[str, Any], first_s: float | None, mean_s: float | None, price: Any
) -> dict[str, Any] | None:
    if mean_s is None:
        return None
    per_epoch = math.ceil(info["train_batches"] / spec.grad_accum)
    total_steps = max(1, math.ceil(per_epoch * spec.epochs))
    seconds = (first_s or mean_s) + (total_steps - 1) * mean_s
    rate = price.usd_per_hour if isinstance(price, Price) else price
    return {
        "dataset_sequences": info["train_sequences"],
        "epochs": spec.epochs,
        "steps": total_steps,
        "seconds": seconds,
        "hours": seconds / 3600,
        "cost_usd": seconds / 3600 * rate if rate is not None else None,
        "method": "first step (compile included) + (steps - 1) × mean measured step time",
    }


def training_section(
    spec: RunSpec, collector: RunCollector, price: Price | float | None
) -> dict[str, Any] | None:
    records = _records(collector)
    if not records:
        return None
    record = records[0]
    info = record.training or {}
    trained = TrainedShape(**info["trained"])
    steps = [s for r in records for s in r.steps]
    measured = [s for s in steps if not s.warmup]
    first = next((s.end - s.start for s in steps if s.step == 0), None)
    step_time = summarize([s.end - s.start for s in measured])
    window = collector.measured_window
    window_s = window[1] - window[0] if window else None
    useful, padded = measured_flops(collector)
    count = len(measured)
    section: dict[str, Any] = {
        "task": spec.task,
        "finetune": spec.finetune,
        "optimizer": spec.optimizer,
        "lr": spec.lr,
        "grad_accum": spec.grad_accum,
        "gradient_checkpointing": spec.grad_checkpointing,
        "precision": info.get("precision"),
        "labels": info.get("labels"),
        "parameters": {
            "total": trained.parameters,
            "trainable": trained.trainable,
            "trainable_fraction": trained.trainable / trained.parameters
            if trained.parameters
            else None,
        },
        "steps": {
            "warmup": sum(s.warmup for s in steps),
            "measured": count,
            "first_step_s": first,
            "scaler_skipped": sum(s.skipped for s in steps),
        },
        "step_time": step_time.to_dict() if step_time else None,
        "steps_per_s": count / window_s if window_s else None,
        "phases": _phases(steps, bool(info.get("phases_separable")), info.get("timing_method", "")),
        "memory": _memory(record, trained, steps),
        "flops": {
            "forward_per_step": useful.forward / count if count else None,
            "model_per_step": useful.model / count if count else None,
            "hardware_per_step": padded.hardware / count if count else None,
            "recompute_per_step": padded.recompute / count if count else None,
            "model_to_forward": useful.model / useful.forward if useful.forward else None,
            "method": "forward 2·N·S + 4·Σd_attn·S²; backward: input gradients where gradients "
            "flow, weight gradients for trainable Linear weights (full ≈ 3× forward, LoRA ≈ 2×); "
            "model FLOPs on real tokens, hardware FLOPs on padded tokens plus checkpointing's "
            "recomputation",
        },
        "loss": [s.loss for s in steps if s.worker == record.index],
        "loss_warmup_steps": sum(s.warmup for s in steps if s.worker == record.index),
        "evaluation": info.get("evaluation"),
        "parity": info.get("parity"),
        "time_to_train": _time_to_train(
            spec, info, first, step_time.mean if step_time else None, price
        ),
    }
    return section


def training_efficiency(
    collector: RunCollector, peak: PeakLookup, units: Sequence[str]
) -> dict[str, Any] | None:
    """MFU from model FLOPs on real tokens; hardware utilisation from every FLOP the device ran
    (padding and checkpointing's recomputation)."""
    window = collector.measured_window
    if window is None or window[1] <= window[0]:
        return None
    useful, padded = measured_flops(collector)
    sequences = sum(t.sequences for t in collector.timings)
    return {
        "useful_flops": useful.model,
        "padded_flops": padded.hardware,
        "peak": peak.to_dict(),
        "formula": "training: model FLOPs (forward + backward) on real tokens for MFU; padded "
        "tokens plus recomputation for hardware utilisation (see training.flops.method)",
        **efficiency(
            useful.model, padded.hardware, sequences, window[1] - window[0], peak, units
        ).to_dict(),
    }
