"""Check plmprof's latency against an independent timer: torch.utils.benchmark.Timer.

Both time the same call (same model, weights, batch shape and thread count) and are interleaved
round by round, so machine noise hits both alike. Prints each round and the median ratio.

    python benchmarks/oracle.py --model esm2_t12_35M --batch-size 8 --seq-len 256 --rounds 3
    python benchmarks/oracle.py --device cuda --model esm2_t33_650M --dtype bf16 --batch-size 32
"""

from __future__ import annotations

import argparse
import statistics

import torch
import torch.utils.benchmark as tb

from engines.backends.torch_device import TORCH_DTYPES
from engines.builders import build_model
from engines.catalog import get_model_info
from engines.inputs import plan_workload, to_tensors
from engines.messages import Status
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.session import Session


def plmprof_median(spec: RunSpec) -> float:
    result = Session(spec, MeasureOptions(telemetry=False)).run()
    if result.status != Status.OK or result.latency is None:
        raise SystemExit(f"plmprof run failed: {result.status}: {result.message}")
    return float(result.latency["p50"])


def timer_median(spec: RunSpec, threads: int, seconds: float) -> float:
    info = get_model_info(spec.model)
    device = torch.device("cuda:0" if spec.device.startswith("cuda") else spec.device)
    model = build_model(
        info,
        attention=spec.attention,
        device=device,
        dtype=TORCH_DTYPES[spec.dtype],
        seed=spec.seed,
    ).module
    batch = to_tensors(plan_workload(spec, info), device)[0]
    with torch.inference_mode():
        timer = tb.Timer(
            stmt="model(input_ids=ids, attention_mask=mask)",
            globals={"model": model, "ids": batch.input_ids, "mask": batch.attention_mask},
            num_threads=threads,
        )
        timer.timeit(2)  # warm-up, as plmprof's --warmup
        measurement = timer.blocked_autorange(min_run_time=seconds)
    return float(measurement.median)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="esm2_t12_35M")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="fp32")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    threads = torch.get_num_threads()
    spec = RunSpec(
        model=args.model,
        device=args.device,
        dtype=args.dtype,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        num_sequences=args.batch_size,  # one batch shape, the same call as the Timer's
        duration_s=args.duration,
        threads=threads,
        warmup=2,
    )
    print(
        f"{args.model} {args.device} {args.dtype} batch {args.batch_size} x {args.seq_len}, "
        f"{threads} threads, torch {torch.__version__}"
    )
    print(f"{'round':>5}  {'plmprof p50 ms':>14}  {'Timer median ms':>15}  {'ratio':>6}")
    ratios = []
    for round_number in range(1, args.rounds + 1):
        ours = plmprof_median(spec)
        theirs = timer_median(spec, threads, args.duration)
        ratios.append(ours / theirs)
        print(
            f"{round_number:>5}  {ours * 1e3:>14.2f}  {theirs * 1e3:>15.2f}  {ours / theirs:>6.3f}"
        )
    print(f"median ratio plmprof / Timer: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
