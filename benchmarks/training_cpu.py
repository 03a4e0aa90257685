"""plmprof's training step against a bare PyTorch training loop, on the same model and data.

Each round times a few optimizer steps of plmprof's loop (engines.training: the Stepper with its
CPU step hooks, per-phase clock reads, the loss read after the step) and of a bare loop (forward,
cross-entropy, backward, AdamW step, zero_grad, one ``float(loss)``), interleaved so that load on
the machine hits both alike. It prints sequences/s of each and the ratio plmprof ÷ bare per round:
median, min and max, and the interquartile range. The goal is a ratio of at least 0.98.

    python benchmarks/training_cpu.py   # esm2_t6_8M and esm2_t12_35M, full and LoRA
    python benchmarks/training_cpu.py --models esm2_t6_8M --rounds 7 --json training.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from engines.builders import build_model
from engines.catalog import get_model_info
from engines.sequences import Protein
from engines.spec import RunSpec
from engines.tokenizers import get_tokenizer
from engines.training.hooks import HostHooks
from engines.training.loop import Stepper, loss_of, make_optimizer
from engines.training.model import build_training_model
from engines.training.plan import LabelledBatch
from engines.workloads import synthetic


def _batches(model: str, batch: int, residues: int, count: int) -> list[LabelledBatch]:
    """``count`` padded batches of random sequences with random binary labels."""
    tokenizer = get_tokenizer(get_model_info(model).tokenizer)
    proteins: list[Protein] = synthetic(residues, batch * count, seed=0)
    out = []
    for index in range(count):
        chunk = proteins[index * batch : (index + 1) * batch]
        ids, mask = tokenizer.batch([p.sequence for p in chunk])
        targets = torch.randint(0, 2, (batch,), generator=torch.Generator().manual_seed(index))
        out.append(LabelledBatch(ids, mask, targets, None))  # type: ignore[arg-type]
    return out


def _setup(model: str, finetune: str) -> tuple[torch.nn.Module, Any]:
    info = get_model_info(model)
    built = build_model(info, attention="sdpa", seed=0)
    trained = build_training_model(
        built.module, info, task="classify", classes=2, finetune=finetune
    )
    optimizer = make_optimizer(trained.module, "adamw", 1e-4, torch.device("cpu"))
    return trained.module, optimizer


def _plmprof_loop(model: torch.nn.Module, optimizer: Any, spec: RunSpec) -> Callable[..., None]:
    stepper = Stepper(
        model=model,
        optimizer=optimizer,
        scaler=None,
        hooks=HostHooks(),
        autocast=lambda: torch.autocast("cpu", enabled=False),
        task="classify",
        tokenizer=get_tokenizer(get_model_info(spec.model).tokenizer),
        seed=0,
    )

    def run(batches: list[LabelledBatch], start: int) -> None:
        for number, batch in enumerate(batches):
            stepper.step(start + number, [batch])

    return run


def _bare_loop(model: torch.nn.Module, optimizer: Any) -> Callable[..., None]:
    def run(batches: list[LabelledBatch], start: int) -> None:
        for batch in batches:
            logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
            assert batch.targets is not None
            loss = loss_of(logits, batch.targets)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            float(loss.detach())

    return run


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 4:
        return min(values), max(values)
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def measure(model: str, finetune: str, args: argparse.Namespace) -> dict[str, Any]:
    torch.manual_seed(0)
    module, optimizer = _setup(model, finetune)
    spec = RunSpec(model=model, mode="train", task="classify", finetune=finetune)
    batches = _batches(model, args.batch, args.residues, args.steps)
    loops = {
        "plmprof": _plmprof_loop(module, optimizer, spec),
        "bare": _bare_loop(module, optimizer),
    }
    for loop in loops.values():  # warm-up: allocator growth, AdamW's lazy state
        loop(batches[:1], 0)
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for round_number in range(args.rounds):
        order = list(loops) if round_number % 2 == 0 else list(reversed(loops))
        for name in order:
            start = time.perf_counter()
            loops[name](batches, round_number * args.steps)
            rates[name].append(args.batch * args.steps / (time.perf_counter() - start))
    ratios = [p / b for p, b in zip(rates["plmprof"], rates["bare"], strict=True)]
    low, high = _quartiles(ratios)
    return {
        "model": model,
        "finetune": finetune,
        "plmprof_seq_per_s": statistics.median(rates["plmprof"]),
        "bare_seq_per_s": statistics.median(rates["bare"]),
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "ratio_iqr": (low, high),
        "rounds": args.rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="esm2_t6_8M,esm2_t12_35M")
    parser.add_argument("--finetunes", default="full,lora")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--residues", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3, help="optimizer steps per loop per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cpu = platform.processor() or platform.machine()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cpu}")
    print(
        f"batch {args.batch} x {args.residues} residues, {args.steps} steps x {args.rounds} "
        "rounds, interleaved"
    )
    header = f"{'model':<14} {'finetune':<8} {'plmprof seq/s':>13} {'bare seq/s':>10}"
    print(header + "  ratio median [min–max] IQR")
    figures = []
    for model in args.models.split(","):
        for finetune in args.finetunes.split(","):
            row = measure(model.strip(), finetune.strip(), args)
            figures.append(row)
            low, high = row["ratio_iqr"]
            print(
                f"{row['model']:<14} {row['finetune']:<8} {row['plmprof_seq_per_s']:>13.2f} "
                f"{row['bare_seq_per_s']:>10.2f}  {row['ratio_median']:.3f} "
                f"[{row['ratio_min']:.3f}–{row['ratio_max']:.3f}] {low:.3f}–{high:.3f}"
            )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)


if __name__ == "__main__":
    main()
