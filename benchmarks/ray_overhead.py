"""Seconds per point of the Ray executor against the local one, on this machine.

The same small CPU grid (esm2_t6_8M, random weights, 32 residues, batch sizes 1 and 2, 0.5 s
measured per point) runs through the local executor and through the Ray executor on a one-node
Ray started here (exclusive node: one point at a time, as locally), in interleaved rounds. Each
sweep's wall time divided by its points is the figure; the difference is what Ray adds per point
(a fresh Ray worker process, pinning, the Result's way back). The points' own p50 latencies are
printed too, so that a change in what a point measures would show.

    python benchmarks/ray_overhead.py                  # 3 rounds, about 3 minutes here
    python benchmarks/ray_overhead.py --rounds 5 --json ray-overhead.json

Needs the cluster extra (``pip install -e '.[cluster]'``). Token authentication is turned off for
the Ray this script starts (``RAY_AUTH_MODE=disabled``); the script stops only that Ray.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from profilers.sweep import LocalExecutor, Sweep, SweepGrid
from profilers.sweep.ray_executor import ray_executor

GRID = {
    "models": ["esm2_t6_8M"],
    "batch_sizes": [1, 2],
    "seq_len": 32,
    "duration": 0.5,
    "min_iters": 3,
    "warmup": 1,
}


def run_sweep(executor: Any, folder: Path) -> dict[str, Any]:
    sweep = Sweep(SweepGrid.from_settings(GRID), folder)
    began = time.perf_counter()
    outcome = sweep.run(executor)
    wall = time.perf_counter() - began
    statuses = [p.status for p in outcome.points]
    if any(s != "ok" for s in statuses):
        raise SystemExit(f"a point did not end ok: {statuses}")
    return {
        "s_per_point": wall / len(outcome.points),
        "p50_ms": [p.figures.get("p50_ms") for p in outcome.points],
    }


def summary(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} s ± {spread:.2f} (min {min(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    ray.init(
        num_cpus=os.cpu_count() or 1,
        object_store_memory=80 * 2**20,
        include_dashboard=False,
        log_to_driver=False,
    )
    rows: dict[str, list[dict[str, Any]]] = {"local": [], "ray": []}
    try:
        with tempfile.TemporaryDirectory() as tmp, ray_executor(None) as cluster:
            for round_ in range(args.rounds):
                for name, executor in (("local", LocalExecutor()), ("ray", cluster)):
                    row = run_sweep(executor, Path(tmp) / f"{name}-{round_}")
                    rows[name].append(row)
                    p50 = ", ".join(f"{v:.2f}" for v in row["p50_ms"])
                    print(f"round {round_ + 1} {name:>5}: {row['s_per_point']:.2f} s/point; "
                          f"p50 ms {p50}", flush=True)  # fmt: skip
    finally:
        ray.shutdown()
    local = [r["s_per_point"] for r in rows["local"]]
    on_ray = [r["s_per_point"] for r in rows["ray"]]
    added = [r - loc for r, loc in zip(on_ray, local, strict=True)]
    print(f"local executor: {summary(local)} per point")
    print(f"ray executor:   {summary(on_ray)} per point")
    print(f"ray adds:       {summary(added)} per point (paired by round)")
    if args.json:
        args.json.write_text(json.dumps({"grid": GRID, "rounds": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
