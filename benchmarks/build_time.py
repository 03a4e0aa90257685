"""How long plmprof takes to build each model with random weights, and the memory it takes.

Each model is built in a fresh process, so peak RSS is that model's alone.

    python benchmarks/build_time.py esm2_t33_650M esm2_t36_3B
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time


def _build(model_id: str, queue: mp.Queue) -> None:
    from engines.builders import build_model
    from engines.catalog import get_model_info

    began = time.perf_counter()
    built = build_model(get_model_info(model_id))
    total = time.perf_counter() - began
    params = sum(p.numel() for p in built.module.parameters())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((model_id, params, built.load_seconds, total, peak_mb))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=["esm2_t33_650M", "esm2_t36_3B"])
    args = parser.parse_args()
    context = mp.get_context("spawn")
    print(f"{'model':<16} {'parameters':>15} {'build s':>8} {'peak RSS MB':>12}")
    for model_id in args.models:
        queue = context.Queue()
        process = context.Process(target=_build, args=(model_id, queue))
        process.start()
        process.join()
        if process.exitcode != 0:
            print(f"{model_id:<16} failed (exit code {process.exitcode})")
            continue
        name, params, load_s, _, peak = queue.get()
        print(f"{name:<16} {params:>15,} {load_s:>8.1f} {peak:>12,.0f}")


if __name__ == "__main__":
    main()
