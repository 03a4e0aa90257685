"""The worker's main loop: build, optimise, warm up, then time batches and report each one."""

from __future__ import annotations

import contextlib
import itertools
import os
import resource
import time
import traceback
from collections.abc import Callable

import torch
from torch import nn

from engines.backends.torch_device import TORCH_DTYPES, TorchDevice, open_device
from engines.builders import build_model
from engines.catalog import get_model_info
from engines.failures import classify
from engines.inputs import TensorBatch, plan_workload, to_tensors
from engines.messages import (
    BatchDone,
    Failed,
    Finished,
    Loaded,
    Memory,
    Status,
    WarmedUp,
    WorkerMessage,
)
from engines.spec import RunSpec
from engines.structure import model_shape
from engines.worker import WorkerTask

Send = Callable[[WorkerMessage], None]
ShouldStop = Callable[[], bool]

_MEMORY_EVERY_S = 0.5


def rss_peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _virtual_size_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def cap_address_space(limit_mb: int | None) -> None:
    """Cap what the worker may map beyond what is mapped now, so an allocation that does not fit
    raises ``MemoryError`` inside the worker (status ``oom``) instead of waking the kernel's OOM
    killer. Without a limit the cap is the machine's physical memory."""
    extra = (
        limit_mb * 2**20 if limit_mb else os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    )
    cap = _virtual_size_bytes() + extra
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def forward(model: nn.Module, batch: TensorBatch) -> object:
    return model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)


def _autocast(spec: RunSpec, device: TorchDevice) -> contextlib.AbstractContextManager[object]:
    if not spec.autocast or spec.dtype == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.device.type, dtype=TORCH_DTYPES[spec.dtype])


def run_worker(task: WorkerTask, send: Send, should_stop: ShouldStop) -> None:
    """Run one worker to the end, reporting through ``send``; never raises."""
    try:
        status, iterations = _run(task, send, should_stop)
    except BaseException as exc:  # every failure becomes a message; the parent decides
        status, message = classify(exc)
        detail = "".join(traceback.format_exception(exc)[-6:])
        send(Failed(task.index, status, message, detail))
        return
    send(Finished(task.index, status, iterations))


def _run(task: WorkerTask, send: Send, should_stop: ShouldStop) -> tuple[Status, int]:
    spec = RunSpec.from_dict(task.spec)
    info = get_model_info(spec.model)
    if spec.threads:
        torch.set_num_threads(spec.threads)
    device = open_device(task.device, spec.dtype)
    if device.is_cuda and spec.memory_limit_mb:
        device.limit_memory(spec.memory_limit_mb)
    elif not device.is_cuda:
        cap_address_space(spec.memory_limit_mb)
    planned = plan_workload(spec, info)
    weights_dtype = torch.float32 if spec.autocast else TORCH_DTYPES[spec.dtype]
    built = build_model(
        info,
        weights=spec.weights,
        attention=spec.attention,
        device=device.device,
        dtype=weights_dtype,
        seed=spec.seed,
    )
    model = built.module
    batches = to_tensors(planned, device.device)
    device.synchronize()
    send(
        Loaded(
            worker=task.index,
            device=task.device,
            device_name=device.name,
            load_s=built.load_seconds,
            shape=model_shape(model),
            attention=built.attention,
            rss_bytes=rss_peak_bytes(),
            device_allocated_bytes=device.allocated(),
            workload=planned.summary,
            batches=planned.batches,
            lengths=tuple(len(p.sequence) for p in planned.proteins),
            special_tokens=planned.tokenizer.special_tokens,
            threads=torch.get_num_threads(),
            notes=tuple(built.notes),
        )
    )
    with torch.inference_mode(), _autocast(spec, device):
        _warm_up(task.index, model, batches, spec.warmup, device, send)
        return _measure(task.index, spec, model, batches, device, send, should_stop)


def _timed_call(model: nn.Module, batch: TensorBatch, device: TorchDevice) -> tuple[float, float]:
    device.synchronize()
    start = time.monotonic()
    forward(model, batch)
    device.synchronize()
    return start, time.monotonic()


def _warm_up(
    index: int,
    model: nn.Module,
    batches: list[TensorBatch],
    calls: int,
    device: TorchDevice,
    send: Send,
) -> None:
    """The first call is cold (kernel selection, allocator growth): report it, never count it.

    Warm-up runs over distinct shapes first, so every shape the loop will see has been run once."""
    began = time.monotonic()
    start, end = _timed_call(model, batches[0], device)
    first = end - start
    by_shape = {tuple(b.input_ids.shape): b for b in batches}
    extra = list(by_shape.values())[1:] + batches
    for batch in extra[: max(0, calls - 1)]:
        _timed_call(model, batch, device)
    send(WarmedUp(index, first, max(1, calls), time.monotonic() - began))


def _measure(
    index: int,
    spec: RunSpec,
    model: nn.Module,
    batches: list[TensorBatch],
    device: TorchDevice,
    send: Send,
    should_stop: ShouldStop,
) -> tuple[Status, int]:
    device.reset_peaks()
    began = time.monotonic()
    last_memory = began
    iterations = 0
    status = Status.OK
    for number, batch in itertools.cycle(enumerate(batches)):
        if should_stop():
            status = Status.INTERRUPTED
            break
        start, end = _timed_call(model, batch, device)
        iterations += 1
        send(BatchDone(index, start, end, number))
        if end - last_memory >= _MEMORY_EVERY_S:
            send(_memory(index, device))
            last_memory = end
        if spec.max_iters is not None and iterations >= spec.max_iters:
            break
        if iterations >= spec.min_iters and end - began >= spec.duration_s:
            break
    send(_memory(index, device))
    return status, iterations


def _memory(index: int, device: TorchDevice) -> Memory:
    return Memory(index, rss_peak_bytes(), device.max_allocated(), device.max_reserved())
