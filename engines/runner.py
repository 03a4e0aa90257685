"""The worker's main loop: build, optimise, warm up, then time batches and report each one."""

from __future__ import annotations

import itertools
import os
import resource
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import nn

from engines.allocator import allocator_notes
from engines.backends.hpu import worker as hpu
from engines.backends.neuron import worker as neuron
from engines.backends.torch_device import TorchDevice, open_device
from engines.catalog import ModelInfo, get_model_info
from engines.failures import classify
from engines.inputs import PlannedWorkload, TensorBatch, plan_workload, to_tensors, tokenize
from engines.messages import (
    BatchDone,
    Failed,
    Finished,
    Loaded,
    Memory,
    Optimized,
    Phase,
    Quality,
    Status,
    WarmedUp,
    WorkerMessage,
    WorkerTask,
)
from engines.optimizations import check as check_optimizations
from engines.optimizations import compile as compile_step
from engines.optimizations import optimize, precision, preload, quality
from engines.optimizations.compile import Call, ModelInputs
from engines.packed import worker as packing
from engines.packed.api import packed_shape
from engines.spec import RunSpec

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


def reset_rss_peak() -> bool:
    """Reset the peak RSS that ``rss_peak_bytes`` reads (Linux ``clear_refs``), so memory freed
    before the measured model was built (the quality reference) is not counted; False if not
    possible here."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def _run(task: WorkerTask, send: Send, should_stop: ShouldStop) -> tuple[Status, int]:
    spec = RunSpec.from_dict(task.spec)
    info = get_model_info(spec.model)
    on_hpu = hpu.is_hpu_device(task.device)
    if on_hpu:
        hpu.check_hpu_spec(spec)
    check_optimizations(spec)
    preload(spec)  # before the address-space cap below
    from engines.builders import build_model

    if spec.threads:
        torch.set_num_threads(spec.threads)
    if spec.mode == "training":
        from engines.training.worker import run_training

        return run_training(
            task.index,
            task.device,
            spec,
            info,
            send,
            should_stop,
            cap=cap_address_space,
            rss_peak=rss_peak_bytes,
        )
    on_neuron = neuron.is_neuron_device(task.device)
    device: TorchDevice
    if on_neuron:  # fills in the spec's buckets; the model is built on the CPU, then traced
        spec, device = neuron.open_neuron_worker(task.device, spec, info)
    elif on_hpu:  # imports the Gaudi bridge, in the mode the worker was started in
        device = hpu.open_hpu_worker(task.device, spec)
    else:
        device = open_device(task.device, spec.dtype)
    if device.is_cuda and spec.memory_limit_mb:
        device.limit_memory(spec.memory_limit_mb)
    elif not device.is_cuda and (spec.memory_limit_mb or not (on_neuron or on_hpu)):
        # Neuron and Gaudi runtimes map device memory: their workers are capped only on request.
        cap_address_space(spec.memory_limit_mb)
    send(Phase(task.index, "planning", time.monotonic()))
    planned = plan_workload(spec, info)
    padded = to_tensors(planned, device.device, limit=_padded_limit(spec))
    reference = _reference(spec, info, planned, padded, device) if spec.quality else None
    send(Phase(task.index, "building", time.monotonic()))
    built = build_model(
        info,
        weights=spec.weights,
        attention="sdpa" if spec.packing else spec.attention,
        device=device.device,
        dtype=torch.float32 if on_neuron else precision.weights_dtype(spec),
        seed=spec.seed,
    )
    send(Phase(task.index, "optimizing", time.monotonic()))
    optimized = optimize(
        built.module,
        spec,
        device.device,
        attention=built.attention,
        attention_notes=built.notes,
    )
    model = hpu.prepare_model(optimized.module, spec, device)
    report = optimized.report
    packed: packing.PackedModel | None = None
    if spec.packing:
        packed = packing.packed_model(model, info, spec, planned, device.device)
        report["attention"]["used"] = packed.attention
    device.synchronize()
    send(
        Loaded(
            worker=task.index,
            device=task.device,
            device_name=device.name,
            load_s=built.load_seconds,
            shape=packed_shape(optimized.shape) if packed else optimized.shape,
            attention=packed.attention if packed else built.attention,
            rss_bytes=rss_peak_bytes(),
            device_allocated_bytes=device.allocated(),
            workload=planned.summary,
            batches=planned.batches,
            lengths=tuple(len(p.sequence) for p in planned.proteins),
            special_tokens=planned.tokenizer.special_tokens,
            threads=torch.get_num_threads(),
            compute_units=device.compute_units(),
            notes=(
                *built.notes,
                *optimized.notes,
                *(packed.notes if packed else ()),
                *neuron.worker_notes(device),
                *hpu.worker_notes(device),
                *allocator_notes(),
            ),
        )
    )
    if on_neuron or spec.compile != "none":
        send(Phase(task.index, "compiling", time.monotonic()))
    if on_neuron:
        model = neuron.compile_on_worker(task.index, model, info, spec, padded, send)
    items: Sequence[ModelInputs] = packed.rows if packed else padded
    compiled: compile_step.CompileState | None = None
    with torch.inference_mode(), precision.autocast_context(spec, device.device.type):
        if spec.compile != "none":
            backend = hpu.compile_backend(device)
            compiled = compile_step.compile_state(spec.compile, items, device.device, backend)
        call = _model_call(model, packed, compiled)
        if spec.end_to_end:
            call = _end_to_end(call, planned, device.device)
        graphs = hpu.count_graphs(device, items)
        if compiled is not None:
            compile_step.warm_compile(
                task.index, compiled, items, lambda item: _timed_call(call, item, device), send
            )
            report["compile"] = compiled.report()
        hpu.warm_graphs(
            task.index,
            graphs,
            items,
            lambda item: _timed_call(call, item, device),
            compiled is not None,
            send,
        )
        send(Phase(task.index, "warming", time.monotonic()))
        _warm_up(task.index, call, items, spec.warmup, device, send)
        if isinstance(reference, quality.Reference):
            outputs = [
                _subset_output(call, packed, item, batch)
                for item, batch in zip(items, quality.subset(padded), strict=False)
            ]
            reference = quality.compare(reference, outputs)
        if reference is not None:
            send(_quality_message(task.index, reference))
        send(Optimized(task.index, report))
        status, iterations = _measure(task.index, spec, call, items, device, send, should_stop)
        if compiled is not None:
            compile_step.after_measure(task.index, compiled, send)
            report["compile"] = compiled.report()
        hpu.after_measure(graphs, device, report)
        if compiled is not None or graphs is not None:
            send(Optimized(task.index, report))
    return status, iterations


def _padded_limit(spec: RunSpec) -> int | None:
    """Padded batches the worker needs: all of them, or only the quality subset when packing."""
    if not spec.packing:
        return None
    return quality.SUBSET_BATCHES if spec.quality else 0


def _model_call(
    model: nn.Module, packed: packing.PackedModel | None, compiled: compile_step.CompileState | None
) -> Call:
    """What the timed loop calls per batch: the model's forward on a padded batch, or the packed
    forward on a packed row; wrapped in ``torch.compile`` when ``compiled`` is set."""
    if packed is not None:
        if compiled is not None:
            packed.runner.compile(compiled.mode, dynamic=compiled.dynamic)
        return packed.runner.hidden_states
    if compiled is not None:
        model = compile_step.wrap(model, compiled)
    return lambda batch: forward(model, batch)


def _end_to_end(call: Call, planned: PlannedWorkload, device: torch.device) -> Call:
    """The timed call from text to host: tokenise the batch's sequences, copy the ids to the
    device, run the model, copy the real rows' embeddings back to the host (in the model's dtype).
    Each planned batch's text is found from the pre-tokenised batch the loop hands over."""

    def text_to_host(item: ModelInputs) -> object:
        assert isinstance(item, TensorBatch)
        output = call(tokenize(planned, item.batch, device))
        return quality.output_tensor(output)[0][: item.batch.sequences].cpu()

    return text_to_host


def _subset_output(
    call: Call, packed: packing.PackedModel | None, item: Any, batch: TensorBatch
) -> torch.Tensor:
    """One quality-subset batch's output, as the padded model lays it out, fp32 on the host."""
    output = call(item)
    if packed is not None:
        assert isinstance(output, torch.Tensor)
        output = packing.as_padded(output, item, batch.batch.padded_len)
    return quality.host_output(output, batch)[0]


def _reference(
    spec: RunSpec,
    info: ModelInfo,
    planned: PlannedWorkload,
    batches: list[TensorBatch],
    device: TorchDevice,
) -> quality.Reference | quality.QualityReport:
    """The fp32 eager reference's outputs on the quality subset; the reference is freed again.

    A reference that does not fit in memory is reported, and the run goes on without it."""
    try:
        reference = quality.compute_reference(
            info,
            spec.weights,
            spec.seed,
            quality.subset(batches),
            planned.tokenizer,
            device.device,
            forward,
        )
    except (MemoryError, torch.OutOfMemoryError) as exc:
        if device.is_cuda:
            torch.cuda.empty_cache()
        return quality.unavailable(f"the fp32 reference did not fit in memory ({exc})"[:300])
    if not device.is_cuda and reset_rss_peak():
        reference.description += "; peak RSS reset after it was freed"
    elif not device.is_cuda:
        reference.description += "; peak RSS includes it"
    return reference


def _quality_message(index: int, report: quality.QualityReport) -> Quality:
    return Quality(
        index,
        dict(report.metrics),
        compared=report.compared,
        reference=report.reference,
        warning=report.warning,
    )


def _timed_call(call: Call, item: ModelInputs, device: TorchDevice) -> tuple[float, float]:
    device.synchronize()
    start = time.monotonic()
    call(item)
    device.synchronize()
    return start, time.monotonic()


def _warm_up(
    index: int,
    call: Call,
    batches: Sequence[ModelInputs],
    calls: int,
    device: TorchDevice,
    send: Send,
) -> None:
    """The first call is cold (kernel selection, allocator growth): report it, never count it.

    Warm-up runs over distinct shapes first, so every shape the loop will see has been run once."""
    began = time.monotonic()
    start, end = _timed_call(call, batches[0], device)
    first = end - start
    extra = [*compile_step.distinct_shapes(batches)[1:], *batches]
    for batch in extra[: max(0, calls - 1)]:
        _timed_call(call, batch, device)
    send(WarmedUp(index, first, max(1, calls), time.monotonic() - began))


def _schedule(
    index: int, spec: RunSpec, batches: Sequence[ModelInputs]
) -> Iterable[tuple[int, ModelInputs]]:
    """(plan number, batch) in the order this worker measures them: the whole plan cycled, or with
    ``passes`` this worker's share (every ``workers``-th batch from its index) ``passes`` times."""
    numbered = list(enumerate(batches))
    if spec.passes is None:
        return itertools.cycle(numbered)
    share = numbered[index :: spec.workers]
    return itertools.chain.from_iterable(itertools.repeat(share, spec.passes))


def _measure(
    index: int,
    spec: RunSpec,
    call: Call,
    batches: Sequence[ModelInputs],
    device: TorchDevice,
    send: Send,
    should_stop: ShouldStop,
) -> tuple[Status, int]:
    device.reset_peaks()
    began = time.monotonic()
    last_memory = began
    iterations = 0
    status = Status.OK
    for number, batch in _schedule(index, spec, batches):
        if should_stop():
            status = Status.INTERRUPTED
            break
        start, end = _timed_call(call, batch, device)
        iterations += 1
        send(BatchDone(index, start, end, number))
        if end - last_memory >= _MEMORY_EVERY_S:
            send(_memory(index, device))
            last_memory = end
        if spec.passes is not None:
            continue
        if spec.max_iters is not None and iterations >= spec.max_iters:
            break
        if iterations >= spec.min_iters and end - began >= spec.duration_s:
            break
    send(_memory(index, device))
    return status, iterations


def _memory(index: int, device: TorchDevice) -> Memory:
    return Memory(index, rss_peak_bytes(), device.max_allocated(), device.max_reserved())
