"""Optimizations on CPU, each measured as it is, with its quality drift beside it.

Runs one model through plmprof's Session for several settings and prints a table of sequences/s,
batch latency p50, the worker's peak RSS and the cosine min against the fp32 eager reference
(``--quality``). Nothing here is assumed faster: on a small AVX2 CPU fp32 usually wins.

    python benchmarks/optimizations_cpu.py
    python benchmarks/optimizations_cpu.py --model esm2_t6_8M --duration 3 --only fp32,int8-dynamic
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import time
from typing import Any

import torch

from engines.detect import cpu_name
from engines.messages import Status
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.result import Result
from profilers.session import Session

SETTINGS: dict[str, dict[str, Any]] = {
    "fp32": {},
    "bf16": {"dtype": "bf16"},
    "int8-dynamic": {"int8": "dynamic"},
    "int8-weight-only": {"int8": "weight-only"},
    "unstructured-0.5": {"prune": "unstructured:0.5"},
    "prune-layers-6": {"prune_layers": 6},
    "compile-default": {"compile": "default"},
}


def _number(section: dict[str, Any] | None, key: str) -> float | None:
    if not section:
        return None
    value = section.get(key)
    return float(value) if isinstance(value, int | float) else None


def _cell(value: float | None, form: str) -> str:
    return "–" if value is None else format(value, form)


def run_one(name: str, base: RunSpec) -> tuple[str, Result | None, float]:
    spec = base.replace(**SETTINGS[name])
    began = time.monotonic()
    result = Session(spec, MeasureOptions(telemetry=False)).run()
    return name, result, time.monotonic() - began


def row(name: str, result: Result | None, wall: float) -> str:
    if result is None:
        return f"| {name} | skipped | – | – | – | – | – | – |"
    seq_s = _number(result.throughput, "sequences_per_s")
    p50 = _number(result.latency, "p50")
    rss = _number(result.memory, "max_ram")
    cosine = _number(result.quality, "cosine_min")
    compile_s = _number(result.timing, "compile_s")
    status = result.status if result.status == Status.OK else f"{result.status}: {result.message}"
    return (
        f"| {name} | {status} | {_cell(seq_s, '.2f')} | {_cell(p50, '.3f')} | "
        f"{_cell(rss, '.0f')} | {_cell(cosine, '.5f')} | {_cell(compile_s, '.1f')} | {wall:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="esm2_t12_35M")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--min-iters", type=int, default=3)
    parser.add_argument("--only", default=",".join(SETTINGS), help="comma-separated settings")
    args = parser.parse_args()
    base = RunSpec(
        model=args.model,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        duration_s=args.duration,
        min_iters=args.min_iters,
        warmup=1,
        quality=True,
    )
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(SETTINGS))
    if unknown:
        raise SystemExit(f"unknown settings {unknown}; known: {', '.join(SETTINGS)}")
    has_torchao = importlib.util.find_spec("torchao") is not None
    print(
        f"# {args.model}, batch {args.batch_size} x {args.seq_len} residues, CPU "
        f"({cpu_name()}, {torch.get_num_threads()} threads), torch {torch.__version__}, "
        f"Python {platform.python_version()}, ~{args.duration:.0f} s per setting\n"
    )
    lines = [
        "| setting | status | seq/s | p50 batch (s) | peak RSS (MB) | cosine min | compile (s) "
        "| wall (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in names:
        if name == "int8-weight-only" and not has_torchao:
            lines.append(row(f"{name} (torchao not installed)", None, 0.0))
            continue
        _, result, wall = run_one(name, base)
        lines.append(row(name, result, wall))
        print(lines[-1], flush=True)
    print()
    print("\n".join(lines))
    print(
        "\nseq/s: completed sequences over the measured window; p50: batch latency (nearest "
        "rank); peak RSS: the worker's (the fp32 reference is freed and the peak reset before "
        "the measured model is built); cosine min: mean-pooled embeddings against fp32 eager "
        "(first 2 batches); compile time is reported apart and never part of latency."
    )


if __name__ == "__main__":
    main()
