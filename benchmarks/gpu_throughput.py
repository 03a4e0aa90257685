"""Throughput and latency of pLM inference paths, on one device, in one process, on the same data.

(One script over plmprof's ~400-line guide: it must run alone on a bare GPU machine, so its
candidates, timing and report stay in the one file that is copied there; nothing imports it.)

Candidates (``--candidates``, comma-separated; defaults depend on the workload and device):

- ``first-script``: what a first script does: transformers model, fp32, file order, batches of 8
  (batch 1 for ``--workload batch1``), the default (sdpa) attention.
- ``hf-tuned``: the tuned transformers baseline: bf16 (``--dtype``), sdpa, length-sorted batches
  under a token budget (``--budget``, 65,536 tokens); ``hf-tuned-compile`` adds ``torch.compile``;
  ``hf-tuned-cudagraphs`` compiles with ``reduce-overhead`` (CUDA graphs; batch 1);
  ``hf-eager`` is the same with eager attention (the quality reference's setting).
- ``packed-<backend>[-compile|-cudagraphs][-feeder]``: plmprof's packed path (engines.packed):
  sequences packed first-fit-decreasing into rows of ``--budget`` tokens, attention restricted to
  each sequence by ``<backend>`` (varlen, jagged, flex, masked, auto). ``-feeder`` times
  tokenisation and host-to-device copies too, overlapped on a background thread.

Workloads: ``fixed512`` (sequences of 510 residues = 512 tokens), ``proteome`` (a FASTA file:
``--fasta``, by default the pyhmmer proteome when pyhmmer is installed; sequences truncated to the
model's limit) and ``batch1`` (one 512-token sequence, latency percentiles).

For every candidate it prints sequences/s, tokens/s, useful and hardware MFU (PaLM FLOPs from
engines.structure.model_shape and profilers.efficiency, divided by the device's dense bf16 peak
for every candidate, fp32 included, so the columns compare against one yardstick), ratios to the
two baselines, and the quality: cosine of residue-mean-pooled embeddings against transformers'
bf16 eager model with the same weights. ``--append FILE`` appends one JSON line per candidate.

Timing: throughput is completed sequences divided by device-synchronised wall time over whole
passes through the workload (at least ``--min-seconds`` and ``--min-passes``), after a warm-up
(a full pass for compiled candidates, so every shape is compiled before timing; two batches
otherwise). Batch-1 latency: ``torch.cuda.synchronize`` before reading a host clock around each
call; nearest-rank percentiles.

Imports only torch, transformers and plmprof's engines/profilers modules that need no textual, so
it runs on a bare GPU machine:

    python benchmarks/gpu_throughput.py --model esm2_t33_650M --workload proteome \\
        --fasta 938293.PRJEB85.HG003687.faa --append results.jsonl
    python benchmarks/gpu_throughput.py --device cpu --model esm2_t6_8M --limit 64
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import platform
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
import torch.nn.functional as functional
import transformers
from torch import nn

from engines.batching import Batch, fixed_batches, token_budget_batches
from engines.builders import build_model
from engines.catalog import ModelInfo, get_model_info
from engines.errors import PlmprofError
from engines.failures import classify
from engines.fasta import read_fasta
from engines.messages import Status
from engines.packed.api import (
    PackedFeeder,
    PackedRunner,
    PackedTensors,
    pack_tensors,
    packed_shape,
    packed_support,
)
from engines.packed.pack import PackedBatch, plan_packing, summarize
from engines.sequences import Protein
from engines.structure import ModelShape, model_shape
from engines.tokenizers import Tokenizer, get_tokenizer
from engines.workloads import synthetic, truncate
from profilers.efficiency import peak_tflops
from profilers.work import computed_flops, sequence_flops

WORKLOADS = ("fixed512", "proteome", "batch1")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
MODEL_ALIASES = {"esm2_650m": "esm2_t33_650M", "protbert": "prot_bert", "prott5": "prot_t5_xl_enc"}
FIXED_RESIDUES = 510  # 512 tokens with <cls> and <eos>
FIRST_SCRIPT_BATCH = 8
TARGETS = {"fixed512": 0.55, "proteome": 0.45}
TARGET_BATCH1_P50_MS = 4.0
TARGET_COSINE = 0.999


# ---------------------------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    name: str
    kind: str  # "hf" or "packed"
    dtype: torch.dtype
    attention: str  # hf: eager/sdpa; packed: varlen/jagged/flex/masked/auto
    compile: str  # none / default / reduce-overhead
    batching: str  # file-order / token-budget / packed / single
    feeder: bool = False


def parse_candidate(name: str, workload: str, dtype: torch.dtype) -> Candidate:
    single = workload == "batch1"
    if name == "first-script":
        return Candidate(
            name, "hf", torch.float32, "sdpa", "none", "single" if single else "file-order"
        )
    if name.startswith(("hf-tuned", "hf-eager")):
        kind, _, mode = name.removeprefix("hf-").partition("-")
        modes = {"": "none", "compile": "default", "cudagraphs": "reduce-overhead"}
        if mode not in modes:
            raise SystemExit(f"unknown candidate '{name}'")
        attention = "eager" if kind == "eager" else "sdpa"
        batching = "single" if single else "token-budget"
        return Candidate(name, "hf", dtype, attention, modes[mode], batching)
    if name.startswith("packed-"):
        parts = name.removeprefix("packed-").split("-")
        backend, flags = parts[0], set(parts[1:])
        if backend not in ("varlen", "jagged", "flex", "masked", "auto") or not flags <= {
            "compile",
            "cudagraphs",
            "feeder",
        }:
            raise SystemExit(f"unknown candidate '{name}'")
        mode = (
            "reduce-overhead"
            if "cudagraphs" in flags
            else "default"
            if "compile" in flags
            else "none"
        )
        return Candidate(name, "packed", dtype, backend, mode, "packed", feeder="feeder" in flags)
    raise SystemExit(f"unknown candidate '{name}'")


def default_candidates(workload: str, cuda: bool) -> list[str]:
    if workload == "batch1":
        if cuda:
            return [
                "first-script",
                "hf-eager",
                "hf-tuned",
                "hf-tuned-cudagraphs",
                "packed-auto",
                "packed-auto-cudagraphs",
            ]
        return ["first-script", "hf-tuned", "packed-auto"]
    if cuda:
        return [
            "first-script",
            "hf-tuned",
            "hf-tuned-compile",
            "packed-varlen",
            "packed-jagged",
            "packed-varlen-compile",
            "packed-jagged-compile",
            "packed-flex-compile",
            "packed-varlen-compile-feeder",
        ]
    return ["first-script", "hf-tuned", "packed-masked", "packed-jagged", "packed-flex"]


# ---------------------------------------------------------------------------------------------
# Work units: one model call each, with the FLOPs it does
# ---------------------------------------------------------------------------------------------


@dataclass
class Unit:
    """One model call: a padded batch (hf) or a packed row."""

    sequences: int
    residues: int
    real_tokens: int
    computed_tokens: int
    useful_flops: int
    hardware_flops: int
    run: Callable[[], Any]


@dataclass
class Workload:
    name: str
    proteins: list[Protein]
    source: str
    truncated: int


def load_workload(args: argparse.Namespace, info: ModelInfo) -> Workload:
    if args.workload == "batch1":
        return Workload("batch1", synthetic(FIXED_RESIDUES, 1, args.seed), "synthetic:510", 0)
    if args.workload == "fixed512":
        count = args.limit or args.sequences
        return Workload("fixed512", synthetic(FIXED_RESIDUES, count, args.seed), "synthetic:510", 0)
    path = args.fasta
    if path is None:
        from engines.workloads import proteome_fasta_path

        try:
            path = str(proteome_fasta_path())
        except PlmprofError as exc:
            raise SystemExit(f"{exc}\nor give the FASTA file with --fasta PATH") from None
    proteins = read_fasta(path)
    if args.limit:
        proteins = proteins[: args.limit]
    kept, truncation = truncate(proteins, info.max_residues)
    return Workload("proteome", kept, f"fasta:{path}", truncation.count)


def residue_mask(ids: torch.Tensor, mask: torch.Tensor, tokenizer: Tokenizer) -> torch.Tensor:
    keep = mask.bool()
    for special in (tokenizer.bos_id, tokenizer.eos_id):
        if special is not None:
            keep &= ids != special
    return keep


def pooled_padded(hidden: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    weights = keep.unsqueeze(-1).float()
    return (hidden.float() * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def hf_units(
    model: nn.Module,
    batches: Sequence[Batch],
    proteins: Sequence[Protein],
    tokenizer: Tokenizer,
    shape: ModelShape,
    device: torch.device,
) -> list[Unit]:
    units = []
    for batch in batches:
        texts = [proteins[i].sequence for i in batch.indices]
        ids, mask = tokenizer.batch(texts, pad_to=batch.padded_len)
        ids, mask = ids.to(device), mask.to(device)
        tokens = [len(proteins[i].sequence) + tokenizer.special_tokens for i in batch.indices]

        def run(ids: torch.Tensor = ids, mask: torch.Tensor = mask) -> Any:
            return model(input_ids=ids, attention_mask=mask)

        units.append(
            Unit(
                sequences=batch.sequences,
                residues=batch.residues,
                real_tokens=batch.real_tokens,
                computed_tokens=batch.padded_tokens,
                useful_flops=sum(sequence_flops(shape, t) for t in tokens),
                hardware_flops=computed_flops(shape, batch),
                run=run,
            )
        )
    return units


def packed_units(
    runner: PackedRunner, rows: Sequence[PackedTensors], shape: ModelShape
) -> list[Unit]:
    units = []
    for row in rows:

        def run(row: PackedTensors = row) -> Any:
            return runner(row)

        units.append(
            Unit(
                sequences=row.batch.sequences,
                residues=row.batch.residues,
                real_tokens=row.batch.real_tokens,
                computed_tokens=row.batch.padded_tokens,
                useful_flops=sum(sequence_flops(shape, t) for t in row.batch.token_lengths),
                hardware_flops=computed_flops(shape, row.batch),
                run=run,
            )
        )
    return units


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Timing:
    seconds: float
    passes: int
    calls: int
    latencies_ms: list[float] = field(default_factory=list)


def time_passes(
    one_pass: Callable[[], int], device: torch.device, min_seconds: float, min_passes: int
) -> Timing:
    synchronize(device)
    began = time.perf_counter()
    passes = calls = 0
    while True:
        calls += one_pass()
        passes += 1
        synchronize(device)
        elapsed = time.perf_counter() - began
        if passes >= min_passes and elapsed >= min_seconds:
            return Timing(elapsed, passes, calls)


def time_calls(
    call: Callable[[], Any], device: torch.device, min_seconds: float, min_calls: int
) -> Timing:
    latencies = []
    began = time.perf_counter()
    while True:
        synchronize(device)
        start = time.perf_counter()
        call()
        synchronize(device)
        latencies.append((time.perf_counter() - start) * 1e3)
        if len(latencies) >= min_calls and time.perf_counter() - began >= min_seconds:
            break
    return Timing(time.perf_counter() - began, 1, len(latencies), latencies)


def nearest_rank(sorted_values: Sequence[float], percent: float) -> float:
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


# ---------------------------------------------------------------------------------------------
# Quality
# ---------------------------------------------------------------------------------------------


def quality_subset(proteins: Sequence[Protein], count: int) -> list[int]:
    return list(range(min(count, len(proteins))))


def hf_embeddings(
    model: Callable[..., Any],
    proteins: Sequence[Protein],
    indices: Sequence[int],
    tokenizer: Tokenizer,
    device: torch.device,
    batch_size: int = 8,
) -> torch.Tensor:
    out = []
    for start in range(0, len(indices), batch_size):
        chunk = [proteins[i].sequence for i in indices[start : start + batch_size]]
        ids, mask = tokenizer.batch(chunk)
        ids, mask = ids.to(device), mask.to(device)
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
        out.append(pooled_padded(hidden, residue_mask(ids, mask, tokenizer)).cpu())
    return torch.cat(out)


def packed_embeddings(
    runner: PackedRunner,
    proteins: Sequence[Protein],
    indices: Sequence[int],
    tokenizer: Tokenizer,
    budget: int,
    pad_multiple: int,
    device: torch.device,
) -> torch.Tensor:
    texts = [proteins[i].sequence for i in indices]
    plan = plan_packing(
        [len(t) for t in texts], budget, tokenizer.special_tokens, pad_multiple=pad_multiple
    )
    result = torch.empty(len(texts), 0)
    for batch in plan:
        row = pack_tensors(batch, texts, tokenizer).to(device)
        pooled = runner(row).cpu()
        if result.shape[1] == 0:
            result = torch.empty(len(texts), pooled.shape[1])
        result[list(batch.indices)] = pooled
    return result


def cosine_stats(ours: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
    cosine = functional.cosine_similarity(ours.float(), reference.float(), dim=-1)
    return {
        "cosine_min": float(cosine.min()),
        "cosine_mean": float(cosine.mean()),
        "sequences": int(cosine.numel()),
    }


# ---------------------------------------------------------------------------------------------
# Running one candidate
# ---------------------------------------------------------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    info: ModelInfo
    workload: Workload
    tokenizer: Tokenizer
    device: torch.device
    device_name: str
    peak: float | None
    peak_source: str | None
    reference: torch.Tensor | None
    quality_indices: list[int]
    models: dict[str, nn.Module] = field(default_factory=dict)

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.args.dtype]


def get_model(ctx: Context, dtype: torch.dtype, attention: str) -> nn.Module:
    key = f"{dtype}-{attention}"
    if key not in ctx.models:
        # Keep at most two built models: drop others of the same dtype first.
        for other in [k for k in ctx.models if k.startswith(f"{dtype}-")]:
            del ctx.models[other]
        gc.collect()
        built = build_model(
            ctx.info, attention=attention, device=ctx.device, dtype=dtype, seed=ctx.args.seed
        )
        ctx.models[key] = built.module
    return ctx.models[key]


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*flex_attention called without torch.compile")
        warnings.filterwarnings("ignore", message=".*nested tensors is in prototype stage")
        yield


def feeder_pass(
    runner: PackedRunner, plan: Sequence[PackedBatch], texts: Sequence[str], ctx: Context
) -> Callable[[], int]:
    """One pass that tokenises and copies rows on the feeder thread while the model runs."""

    def one_pass() -> int:
        count = 0
        feeder = PackedFeeder(plan, texts, ctx.tokenizer, ctx.device, depth=ctx.args.depth)
        for row in feeder:
            runner(row)
            count += 1
        return count

    return one_pass


def run_candidate(ctx: Context, candidate: Candidate) -> dict[str, Any]:
    args = ctx.args
    proteins = ctx.workload.proteins
    lengths = [p.length for p in proteins]
    special = ctx.tokenizer.special_tokens
    record: dict[str, Any] = {
        "candidate": candidate.name,
        "dtype": str(candidate.dtype).removeprefix("torch."),
        "attention": candidate.attention,
        "compile": candidate.compile,
        "batching": candidate.batching,
        "feeder": candidate.feeder,
    }
    if candidate.kind == "packed":
        reason = packed_support(ctx.info)
        if reason is not None:
            return {**record, "status": Status.UNSUPPORTED, "error": reason}
    if ctx.device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(ctx.device)
    torch._dynamo.reset()
    began = time.perf_counter()
    model = get_model(
        ctx, candidate.dtype, "sdpa" if candidate.kind == "packed" else candidate.attention
    )
    shape = model_shape(model)
    runner: PackedRunner | None = None
    forward: Any = model
    feed_pass: Callable[[], int] | None = None
    if candidate.kind == "hf":
        if candidate.batching == "single":
            batches = fixed_batches(lengths, 1, special)
        elif candidate.batching == "file-order":
            batches = fixed_batches(lengths, FIRST_SCRIPT_BATCH, special)
        else:
            batches = token_budget_batches(lengths, args.budget, special)
        if candidate.compile != "none":
            mode = None if candidate.compile == "default" else candidate.compile
            forward = torch.compile(model, mode=mode)
        units = hf_units(forward, batches, proteins, ctx.tokenizer, shape, ctx.device)
        record["batches"] = len(batches)
    else:
        runner = PackedRunner(model, ctx.info, candidate.attention, compile=candidate.compile)
        record["attention"] = f"{candidate.attention}->{runner.attention}"
        record["extra_memory_bytes"] = runner.extra_memory_bytes
        multiple = args.pad_multiple if candidate.compile != "none" else 1
        plan = plan_packing(lengths, args.budget, special, pad_multiple=multiple)
        summary = summarize(plan, args.budget)
        record["batches"] = summary.rows
        record["pad_multiple"] = multiple
        rows = [pack_tensors(b, [p.sequence for p in proteins], ctx.tokenizer) for b in plan]
        units = packed_units(runner, [r.to(ctx.device) for r in rows], packed_shape(shape))
        if candidate.feeder:
            feed_pass = feeder_pass(runner, plan, [p.sequence for p in proteins], ctx)

    setup_s = time.perf_counter() - began
    with torch.inference_mode(), quiet():
        warm_began = time.perf_counter()
        warm = units if candidate.compile != "none" else units[:2]
        for unit in warm:
            unit.run()
        synchronize(ctx.device)
        record["warmup_s"] = time.perf_counter() - warm_began
        record["warmup_calls"] = len(warm)
        if args.workload == "batch1":
            timing = time_calls(units[0].run, ctx.device, args.min_seconds, args.min_calls)
        elif feed_pass is not None:
            timing = time_passes(feed_pass, ctx.device, args.min_seconds, args.min_passes)
        else:

            def one_pass() -> int:
                for unit in units:
                    unit.run()
                return len(units)

            timing = time_passes(one_pass, ctx.device, args.min_seconds, args.min_passes)
        quality = None
        if ctx.reference is not None:
            if runner is not None:
                ours = packed_embeddings(
                    runner,
                    proteins,
                    ctx.quality_indices,
                    ctx.tokenizer,
                    args.budget,
                    record["pad_multiple"],
                    ctx.device,
                )
            else:
                ours = hf_embeddings(
                    forward, proteins, ctx.quality_indices, ctx.tokenizer, ctx.device
                )
            quality = cosine_stats(ours, ctx.reference)
    record.update(measure(ctx, units, timing, setup_s, quality))
    if candidate.compile != "none":
        from torch._dynamo.utils import counters

        record["compiled_graphs"] = int(counters["stats"].get("unique_graphs", 0))
    return record


def measure(
    ctx: Context,
    units: Sequence[Unit],
    timing: Timing,
    setup_s: float,
    quality: dict[str, float] | None,
) -> dict[str, Any]:
    per_pass = {
        "sequences": sum(u.sequences for u in units),
        "residues": sum(u.residues for u in units),
        "real_tokens": sum(u.real_tokens for u in units),
        "computed_tokens": sum(u.computed_tokens for u in units),
        "useful_flops": sum(u.useful_flops for u in units),
        "hardware_flops": sum(u.hardware_flops for u in units),
    }
    out: dict[str, Any] = {"status": Status.OK, "setup_s": setup_s, "quality": quality}
    if timing.latencies_ms:
        ordered = sorted(timing.latencies_ms)
        p50 = nearest_rank(ordered, 50)
        n = len(ordered)
        mean = sum(ordered) / n
        stdev = math.sqrt(sum((x - mean) ** 2 for x in ordered) / max(1, n - 1))
        out["latency_ms"] = {
            "p50": p50,
            "p90": nearest_rank(ordered, 90),
            "p99": nearest_rank(ordered, 99),
            "min": ordered[0],
            "max": ordered[-1],
            "mean": mean,
            "stdev": stdev,
            "count": n,
            "method": "nearest rank; device synchronised around each call",
            "p99_samples_ok": n >= 662,
        }
        seconds = p50 / 1e3
        out["sequences_per_s"] = per_pass["sequences"] / seconds
        out["useful_tflops"] = per_pass["useful_flops"] / seconds / 1e12
        out["hardware_tflops"] = per_pass["hardware_flops"] / seconds / 1e12
        out["rates_from"] = "p50 latency"
    else:
        seconds = timing.seconds
        done = timing.passes
        out["seconds"] = seconds
        out["passes"] = done
        out["calls"] = timing.calls
        out["sequences_per_s"] = done * per_pass["sequences"] / seconds
        out["residues_per_s"] = done * per_pass["residues"] / seconds
        out["real_tokens_per_s"] = done * per_pass["real_tokens"] / seconds
        out["computed_tokens_per_s"] = done * per_pass["computed_tokens"] / seconds
        out["useful_tflops"] = done * per_pass["useful_flops"] / seconds / 1e12
        out["hardware_tflops"] = done * per_pass["hardware_flops"] / seconds / 1e12
        out["rates_from"] = "whole passes / wall time"
    out["padding_fraction"] = 1 - per_pass["real_tokens"] / per_pass["computed_tokens"]
    out.update({f"per_pass_{k}": v for k, v in per_pass.items()})
    if ctx.peak:
        out["useful_mfu"] = out["useful_tflops"] / ctx.peak
        out["hardware_mfu"] = out["hardware_tflops"] / ctx.peak
        if out["hardware_mfu"] > 1.0 or out["useful_mfu"] > 1.0:
            out["mfu_error"] = "MFU above 100%: the measurement is wrong"
    else:
        out["useful_mfu"] = out["hardware_mfu"] = None
    if ctx.device.type == "cuda":
        out["max_memory_allocated_bytes"] = torch.cuda.max_memory_allocated(ctx.device)
        out["max_memory_reserved_bytes"] = torch.cuda.max_memory_reserved(ctx.device)
    return out


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def build_reference(ctx: Context) -> torch.Tensor:
    """Residue-mean-pooled embeddings of transformers' eager model (``--dtype``, bf16 by default)
    on the quality subset."""
    model = build_model(
        ctx.info, attention="eager", device=ctx.device, dtype=ctx.dtype, seed=ctx.args.seed
    ).module
    with torch.inference_mode():
        ref = hf_embeddings(
            model, ctx.workload.proteins, ctx.quality_indices, ctx.tokenizer, ctx.device
        )
    del model
    gc.collect()
    if ctx.device.type == "cuda":
        torch.cuda.empty_cache()
    return ref


def fmt(value: Any, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def print_table(ctx: Context, records: Sequence[dict[str, Any]], header: bool = True) -> None:
    batch1 = ctx.args.workload == "batch1"
    head = (
        f"{'candidate':<28} {'dtype':<8} {'status':<7} {'seq/s':>9} {'p50 ms':>8} "
        if batch1
        else f"{'candidate':<28} {'dtype':<8} {'status':<7} {'seq/s':>9} {'tok/s':>10} {'pad%':>5} "
    )
    head += f"{'useful MFU':>10} {'hw MFU':>7} {'x first':>8} {'x tuned':>8} "
    head += f"{'cos min':>8} {'warm s':>7}"
    if header:
        print(head)
    for r in records:
        ok = r.get("status") == Status.OK
        line = f"{r['candidate']:<28} {r.get('dtype', '-'):<8} {r.get('status', '?'):<7} "
        line += f"{fmt(r.get('sequences_per_s'), '9.1f'):>9} "
        if batch1:
            lat = (r.get("latency_ms") or {}).get("p50")
            line += f"{fmt(lat, '8.2f'):>8} "
        else:
            line += f"{fmt(r.get('computed_tokens_per_s'), '10.0f'):>10} "
            pad = r.get("padding_fraction")
            line += f"{fmt(None if pad is None else 100 * pad, '5.1f'):>5} "
        um, hm = r.get("useful_mfu"), r.get("hardware_mfu")
        line += f"{fmt(um, '.1%'):>10} {fmt(hm, '.1%'):>7} "
        line += (
            f"{fmt(r.get('vs_first_script'), '8.2f'):>8} {fmt(r.get('vs_tuned_hf'), '8.2f'):>8} "
        )
        q = r.get("quality") or {}
        line += f"{fmt(q.get('cosine_min'), '8.5f'):>8} {fmt(r.get('warmup_s'), '7.1f'):>7}"
        print(line if ok else line + f"  {str(r.get('error', ''))[:100]}")


def print_targets(ctx: Context, records: Sequence[dict[str, Any]]) -> None:
    ok = [
        r for r in records if r.get("status") == Status.OK and r["candidate"].startswith("packed-")
    ]
    workload = ctx.args.workload
    if ctx.device.type != "cuda":
        print(
            f"targets: not judged (they are for an H100 SXM in bf16; this run is on {ctx.device})"
        )
        return
    if not ok:
        print("targets: no packed candidate ran")
        return
    if workload == "batch1":
        best = min(ok, key=lambda r: r["latency_ms"]["p50"])
        p50 = best["latency_ms"]["p50"]
        verdict = "met" if p50 <= TARGET_BATCH1_P50_MS else "NOT met"
        print(
            f"target batch-1 p50 <= {TARGET_BATCH1_P50_MS} ms: {verdict} "
            f"({best['candidate']}: {p50:.2f} ms on {ctx.device_name})"
        )
    else:
        best = max(ok, key=lambda r: r["sequences_per_s"])
        mfu = best.get("useful_mfu")
        goal = TARGETS[workload]
        if mfu is None:
            print(
                f"target useful MFU >= {goal:.0%}: not measurable here (no peak for "
                f"{ctx.device_name}; pass --peak-tflops)"
            )
        else:
            verdict = "met" if mfu >= goal else "NOT met"
            print(f"target useful MFU >= {goal:.0%}: {verdict} ({best['candidate']}: {mfu:.1%})")
    worst = [r for r in ok if r.get("quality")]
    if worst:
        low = min(worst, key=lambda r: r["quality"]["cosine_min"])
        cos = low["quality"]["cosine_min"]
        verdict = "met" if cos >= TARGET_COSINE else "NOT met"
        print(
            f"target cosine >= {TARGET_COSINE} vs {ctx.args.dtype} eager: {verdict} "
            f"(lowest: {low['candidate']} {cos:.5f})"
        )


def cpu_model_name() -> str:
    with contextlib.suppress(OSError):
        for line in (
            Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").splitlines()
        ):
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine() or "cpu"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="esm2_t33_650M", help="catalog id (or esm2_650m, protbert, prott5)"
    )
    parser.add_argument("--workload", choices=WORKLOADS, default="proteome")
    parser.add_argument("--fasta", default=None, help="FASTA for --workload proteome")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--candidates", default=None, help="comma-separated (see the docstring)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N sequences")
    parser.add_argument("--sequences", type=int, default=512, help="fixed512: how many sequences")
    parser.add_argument("--budget", type=int, default=65_536, help="tokens per batch / packed row")
    parser.add_argument("--pad-multiple", type=int, default=128, help="packed rows, when compiled")
    parser.add_argument("--depth", type=int, default=2, help="feeder queue depth")
    parser.add_argument("--min-seconds", type=float, default=10.0)
    parser.add_argument("--min-passes", type=int, default=1)
    parser.add_argument("--min-calls", type=int, default=200, help="batch1: timed calls at least")
    parser.add_argument("--quality-sequences", type=int, default=64)
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--peak-tflops", type=float, default=None)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (torch)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--dtype",
        choices=tuple(DTYPES),
        default="bf16",
        help="dtype of every candidate but first-script, and of the quality reference (bf16; "
        "fp32 for CPU smoke runs: bf16 matmuls are very slow on CPUs without native bf16)",
    )
    parser.add_argument("--append", default=None, help="append one JSON line per candidate here")
    return parser.parse_args(argv)


def run_guarded(ctx: Context, candidate: Candidate) -> dict[str, Any]:
    """Run one candidate; a failure becomes a record with its status, never an exception."""
    try:
        return run_candidate(ctx, candidate)
    except Exception as exc:  # a failed candidate is reported, the others still run
        status, message = classify(exc)
        return {
            "candidate": candidate.name,
            "status": status,
            "error": message,
            "traceback": "".join(traceback.format_exception(exc)[-4:])[-2000:],
        }


def add_ratios(record: dict[str, Any], earlier: Sequence[dict[str, Any]]) -> None:
    """Speed relative to the two baselines, when they ran (earlier in the list) and succeeded."""
    if record.get("status") != Status.OK:
        return
    runs = {r["candidate"]: r for r in [*earlier, record] if r.get("status") == Status.OK}
    first = runs.get("first-script", {}).get("sequences_per_s")
    tuned = runs.get("hf-tuned", {}).get("sequences_per_s")
    record["vs_first_script"] = record["sequences_per_s"] / first if first else None
    record["vs_tuned_hf"] = record["sequences_per_s"] / tuned if tuned else None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    info = get_model_info(MODEL_ALIASES.get(args.model, args.model))
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("CUDA is not available here; use --device cpu for a small smoke run")
    tokenizer = get_tokenizer(info.tokenizer)
    workload = load_workload(args, info)
    if device.type == "cuda":
        device_name = torch.cuda.get_device_name(device)
        lookup = peak_tflops(device_name, "bf16")
    else:
        device_name = cpu_model_name()
        lookup = peak_tflops("cpu", "bf16")
    peak = args.peak_tflops or lookup.tflops
    peak_source = "--peak-tflops" if args.peak_tflops else lookup.source or lookup.reason
    names = (
        args.candidates.split(",")
        if args.candidates
        else default_candidates(args.workload, device.type == "cuda")
    )
    dtype = DTYPES[args.dtype]
    candidates = [parse_candidate(n.strip(), args.workload, dtype) for n in names if n.strip()]
    indices = [] if args.no_quality else quality_subset(workload.proteins, args.quality_sequences)
    ctx = Context(
        args, info, workload, tokenizer, device, device_name, peak, peak_source, None, indices
    )
    lengths = [p.length for p in workload.proteins]
    print(
        f"plmprof gpu_throughput: {info.id} on {device_name} ({device.type}); torch "
        f"{torch.__version__}, transformers {transformers.__version__}, python "
        f"{platform.python_version()}"
    )
    print(
        f"workload {workload.name}: {len(lengths)} sequences from {workload.source}, "
        f"{sum(lengths)} residues, mean {sum(lengths) / max(1, len(lengths)):.0f}, "
        f"longest {max(lengths, default=0)}, truncated {workload.truncated}; budget {args.budget} "
        f"tokens"
    )
    print(f"peak: {fmt(peak, '.0f')} TFLOP/s ({peak_source}); MFU uses the bf16 peak for every row")
    if indices:
        began = time.perf_counter()
        ctx.reference = build_reference(ctx)
        print(
            f"quality reference: transformers {args.dtype} eager, same weights (seed {args.seed}), "
            f"{len(indices)} sequences, residue-mean-pooled ({time.perf_counter() - began:.1f} s)"
        )
    common = {
        "benchmark": "gpu_throughput",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "model": info.id,
        "workload": workload.name,
        "workload_source": workload.source,
        "sequences": len(lengths),
        "truncated": workload.truncated,
        "budget": args.budget,
        "device": str(device),
        "device_name": device_name,
        "peak_tflops": peak,
        "peak_source": peak_source,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads() if device.type == "cpu" else None,
    }
    records: list[dict[str, Any]] = []
    for candidate in candidates:
        print(f"... {candidate.name}", flush=True)
        record = run_guarded(ctx, candidate)
        add_ratios(record, records)
        records.append(record)
        print_table(ctx, [record], header=False)
        if args.append:  # one line per candidate as it finishes: a later crash loses nothing
            with open(args.append, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({**common, **record}) + "\n")
    print()
    print_table(ctx, records)
    print()
    print_targets(ctx, records)
    if args.append:
        print(f"appended {len(records)} lines to {args.append}")
    return 0 if all(r.get("status") in (Status.OK, Status.UNSUPPORTED) for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
