"""A training run's worker: build the task model, step it, and report every step up the pipe.

It reuses the inference worker's plumbing (device, memory cap, ``Loaded``), sends a ``StepDone``
per optimizer step (warm-up steps marked as such), ``TrainingInfo`` with the memory accounting
after the first step and the held-out evaluation (and fp32 parity) at the end.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from engines.allocator import allocator_notes
from engines.backends.hpu.device import HpuDevice
from engines.backends.hpu.training import HpuHooks
from engines.backends.hpu.worker import open_hpu_worker, worker_notes
from engines.backends.torch_device import TORCH_DTYPES, TorchDevice, open_device
from engines.catalog import ModelInfo
from engines.messages import (
    Compiled,
    Loaded,
    Memory,
    Status,
    StepDone,
    TrainingInfo,
    WarmedUp,
    WorkerMessage,
)
from engines.spec import RunSpec
from engines.training.evaluate import evaluate, parity
from engines.training.hooks import StepHooks, hooks_for
from engines.training.loop import (
    Stepper,
    make_optimizer,
    optimizer_state_bytes,
    saved_activations,
    tensor_bytes,
)
from engines.training.model import TrainingModel, build_training_model
from engines.training.plan import LabelledBatch, TrainingPlan, plan_training
from engines.training.xla import compile_stats, open_xla

Send = Callable[[WorkerMessage], None]
ShouldStop = Callable[[], bool]
_MEMORY_EVERY_S = 0.5


def autocast_for(spec: RunSpec, device: torch.device) -> Callable[[], Any]:
    """Training keeps fp32 weights; a bf16/fp16 ``dtype`` is what autocast runs matmuls in."""
    if spec.dtype == "fp32":
        return contextlib.nullcontext
    return lambda: torch.autocast(device.type, dtype=TORCH_DTYPES[spec.dtype])


def build(spec: RunSpec, info: ModelInfo, plan: TrainingPlan, device: torch.device) -> Any:
    from engines.builders import build_model

    built = build_model(
        info, weights=spec.weights, attention=spec.attention, device=device, seed=spec.seed
    )
    torch.manual_seed(spec.seed)  # the new head's initial weights: the same for the fp32 twin
    trained = build_training_model(
        built.module,
        info,
        task=spec.task,
        classes=plan.classes,
        finetune=spec.finetune,
        rank=spec.lora_rank,
        alpha=spec.lora_alpha,
        targets=spec.lora_targets,
        checkpointing=spec.grad_checkpointing,
    )
    return built, trained


def steps(batches: Sequence[LabelledBatch], accumulate: int) -> Iterator[list[int]]:
    """Batch numbers of each step: ``accumulate`` consecutive batches, cycling over the plan."""
    numbers = itertools.cycle(range(len(batches)))
    while True:
        yield [next(numbers) for _ in range(accumulate)]


def make_stepper(
    spec: RunSpec, model: TrainingModel, plan: TrainingPlan, device: torch.device, hooks: StepHooks
) -> Stepper:
    scaler = torch.amp.GradScaler("cuda") if spec.dtype == "fp16" else None
    return Stepper(
        model=model.module,
        optimizer=make_optimizer(model.module, spec.optimizer, spec.lr, device),
        scaler=scaler,
        hooks=hooks,
        autocast=autocast_for(spec, device),
        task=spec.task,
        tokenizer=plan.workload.tokenizer,
        seed=spec.seed,
    )


def run_training(
    index: int,
    device_name: str,
    spec: RunSpec,
    info: ModelInfo,
    send: Send,
    should_stop: ShouldStop,
    *,
    cap: Callable[[int | None], None],
    rss_peak: Callable[[], int],
    hooks: StepHooks | None = None,
) -> tuple[Status, int]:
    """The training counterpart of the inference loop; ``cap`` limits the address space."""
    torch_device, device = _open(device_name, spec)
    if device is not None and device.is_cuda and spec.memory_limit_mb:
        device.limit_memory(spec.memory_limit_mb)
    elif torch_device.type == "cpu":
        cap(spec.memory_limit_mb)
    plan = plan_training(spec, info, torch_device)
    built, model = build(spec, info, plan, torch_device)
    send(
        Loaded(
            worker=index,
            device=device_name,
            device_name=device.name if device else "XLA device",
            compute_units=device.compute_units() if device else (device_name,),
            load_s=built.load_seconds,
            shape=model.shape,
            attention=built.attention,
            rss_bytes=rss_peak(),
            device_allocated_bytes=device.allocated() if device else None,
            workload=plan.workload.summary,
            batches=plan.workload.batches,
            lengths=tuple(p.length for p in plan.workload.proteins),
            special_tokens=plan.workload.tokenizer.special_tokens,
            threads=torch.get_num_threads(),
            notes=(
                *built.notes,
                *model.notes,
                *(worker_notes(device) if device else ()),
                *allocator_notes(),
            ),
        )
    )
    if hooks is None:
        hooks = HpuHooks(device) if isinstance(device, HpuDevice) else hooks_for(torch_device)
    stepper = make_stepper(spec, model, plan, torch_device, hooks)
    send(TrainingInfo(index, _setup_report(spec, model, plan, hooks)))
    status, count, losses = _loop(index, spec, stepper, plan, device, send, should_stop, rss_peak)
    report: dict[str, Any] = {"evaluation": evaluate(stepper, plan)}
    if spec.quality:
        report["parity"] = parity(spec, info, plan, torch_device, losses, build, make_stepper)
    send(TrainingInfo(index, report))
    return status, count


def _open(device_name: str, spec: RunSpec) -> tuple[torch.device, TorchDevice | None]:
    if device_name.startswith("xla"):
        return open_xla(), None
    if device_name.startswith("hpu"):
        opened = open_hpu_worker(device_name, spec)
        return opened.device, opened
    device = open_device(device_name, spec.dtype)
    return device.device, device


def _setup_report(
    spec: RunSpec, model: TrainingModel, plan: TrainingPlan, hooks: StepHooks
) -> dict[str, Any]:
    labels = plan.labels
    return {
        "trained": model.trained.to_dict(),
        "labels": {
            "source": labels.source if labels else "masked-LM targets (the sequences)",
            "classes": list(labels.classes) if labels else None,
            "measured": labels.measured if labels else True,
        },
        "held_out_sequences": plan.held_out_sequences,
        "train_sequences": plan.workload.summary.sequences,
        "train_batches": len(plan.train),
        "timing_method": getattr(hooks, "method", hooks.name),
        "phases_separable": hooks.phases_separable,
        "precision": {
            "weights": "fp32",
            "autocast": None if spec.dtype == "fp32" else spec.dtype,
            "loss_scaler": "torch.amp.GradScaler" if spec.dtype == "fp16" else None,
        },
    }


def _first_step_memory(stepper: Stepper, saved: Sequence[torch.Tensor]) -> dict[str, Any]:
    params = list(stepper.model.parameters())
    trainable = [p for p in params if p.requires_grad]
    return {
        "parameters_bytes": tensor_bytes(params),
        "gradients_bytes": tensor_bytes(trainable),  # one gradient per trainable parameter
        "optimizer_state_bytes": optimizer_state_bytes(stepper.optimizer),
        "activations_saved_bytes": tensor_bytes(saved, exclude=params),
        "activations_method": "bytes autograd saved for the backward pass in the first step "
        "(torch.autograd.graph.saved_tensors_hooks, each storage once, weights left out)",
    }


def _loop(
    index: int,
    spec: RunSpec,
    stepper: Stepper,
    plan: TrainingPlan,
    device: TorchDevice | None,
    send: Send,
    should_stop: ShouldStop,
    rss_peak: Callable[[], int],
) -> tuple[Status, int, list[float]]:
    """Warm-up steps (reported, not timed into statistics), then measured steps until the
    duration and count rules are met. A step that raises ends the run there; every step before
    it has been sent."""
    losses: list[float] = []
    measured = 0
    began: float | None = None
    last_memory = 0.0
    warmup = max(1, spec.warmup)
    for number, batch_numbers in enumerate(steps(plan.train, spec.grad_accum)):
        if should_stop():
            return Status.INTERRUPTED, measured, losses
        batches = [plan.train[n] for n in batch_numbers]
        if device is not None and number < 2:  # the first step's peak apart from the rest
            device.reset_peaks()
        if number == 0:
            with saved_activations() as saved:
                result = stepper.step(number, batches)
            send(TrainingInfo(index, {"memory": _first_step_memory(stepper, saved)}))
        else:
            result = stepper.step(number, batches)
        losses.append(result.loss)
        is_warmup = number < warmup
        send(
            StepDone(
                index,
                number,
                result.start,
                result.end,
                tuple(batch_numbers),
                result.loss,
                is_warmup,
                result.phases,
                result.skipped,
                device.max_allocated() if device else None,
            )
        )
        if number == 0:
            first = result
            compiled = _compiled(index, stepper.hooks)
            if compiled is not None:
                send(compiled)
        if number == warmup - 1:
            send(WarmedUp(index, first.end - first.start, warmup, result.end - first.start))
        if is_warmup:
            continue
        measured += 1
        began = result.start if began is None else began
        if result.end - last_memory >= _MEMORY_EVERY_S:
            send(_memory(index, device, rss_peak))
            last_memory = result.end
        if spec.max_iters is not None and measured >= spec.max_iters:
            break
        if measured >= spec.min_iters and result.end - began >= spec.duration_s:
            break
    compiled = _compiled(index, stepper.hooks)
    if compiled is not None:
        send(compiled)
    send(_memory(index, device, rss_peak))
    return Status.OK, measured, losses


def _compiled(index: int, hooks: StepHooks) -> Compiled | None:
    """XLA's compile time and graph count so far (lazy devices compile at the first steps; a
    graph compiled after them is a recompilation, e.g. for a new batch shape)."""
    if hooks.name != "xla":
        return None
    stats = compile_stats()
    return None if stats is None else Compiled(index, stats[0], max(0, stats[1] - 1))


def _memory(index: int, device: TorchDevice | None, rss_peak: Callable[[], int]) -> Memory:
    if device is None:
        return Memory(index, rss_peak())
    return Memory(index, rss_peak(), device.max_allocated(), device.max_reserved())
