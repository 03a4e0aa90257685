"""After training: accuracy on the held-out split, and convergence parity against fp32.

Masked-LM reports masked-token accuracy and perplexity (exp of the mean cross-entropy over the
masked positions); classification reports accuracy beside chance and the majority class.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import torch

from engines.catalog import ModelInfo
from engines.spec import RunSpec
from engines.training.hooks import hooks_for
from engines.training.loop import Stepper
from engines.training.masking import IGNORE
from engines.training.plan import TrainingPlan

# Largest relative gap between the loss curves of a run and its fp32 twin before it is flagged.
# bf16 keeps 8 mantissa bits (relative step 2^-8 ≈ 0.4% per rounding); over tens of steps the
# curves drift apart by a few per cent while still learning the same thing.
PARITY_TOLERANCE = 0.05
_NOT_MEASURED = "labels were drawn at random (none given): accuracy not measured"


@torch.no_grad()
def evaluate(stepper: Stepper, plan: TrainingPlan) -> dict[str, Any]:
    """Held-out figures of the trained model, or why there are none."""
    if plan.labels is not None and not plan.labels.measured:
        return {"accuracy": None, "reason": _NOT_MEASURED}
    if not plan.held_out:
        return {"accuracy": None, "reason": "no held-out sequences (--eval-fraction 0)"}
    model = stepper.model
    model.eval()
    loss_sum = 0.0
    correct = counted = 0
    for number, batch in enumerate(plan.held_out):
        input_ids, targets = stepper.inputs(batch, -1 - number, 0)
        with stepper.autocast():
            logits = model(input_ids=input_ids, attention_mask=batch.attention_mask).float()
        flat = logits.reshape(-1, logits.shape[-1])
        wanted = targets.reshape(-1)
        keep = wanted != IGNORE
        loss_sum += float(
            torch.nn.functional.cross_entropy(flat[keep], wanted[keep], reduction="sum")
        )
        correct += int((flat[keep].argmax(-1) == wanted[keep]).sum())
        counted += int(keep.sum())
    model.train()
    accuracy = correct / counted if counted else None
    report: dict[str, Any] = {
        "accuracy": accuracy,
        "counted": counted,
        "sequences": plan.held_out_sequences,
        "mean_loss": loss_sum / counted if counted else None,
    }
    if stepper.task == "mlm":
        report["what"] = "masked-token accuracy on held-out sequences (15% masked, seeded)"
        report["perplexity"] = math.exp(loss_sum / counted) if counted else None
        return report
    assert plan.labels is not None
    unit = "residues" if stepper.task == "token-classify" else "sequences"
    report["what"] = f"accuracy over held-out {unit}"
    report["chance"] = 1 / plan.labels.num_classes
    report["majority"] = _majority(plan, stepper.task)
    return report


def _majority(plan: TrainingPlan, task: str) -> float | None:
    """Accuracy of always answering the held-out split's most common class."""
    assert plan.labels is not None
    first = len(plan.workload.proteins) - plan.held_out_sequences
    held = plan.labels.per_protein[first:]
    lengths = [p.length for p in plan.workload.proteins[first:]]
    counts: Counter[int] = Counter()
    for classes, length in zip(held, lengths, strict=True):
        counts.update(classes[:length] if task == "token-classify" else classes)
    total = sum(counts.values())
    return max(counts.values()) / total if total else None


def parity(
    spec: RunSpec,
    info: ModelInfo,
    plan: TrainingPlan,
    device: torch.device,
    losses: Sequence[float],
    build: Callable[..., Any],
    make_stepper: Callable[..., Stepper],
) -> dict[str, Any]:
    """The same steps on the same data and seed in fp32 without checkpointing; the largest
    relative gap between the two loss curves."""
    reference = spec.replace(dtype="fp32", grad_checkpointing=False)
    if reference == spec:
        return {"max_relative_difference": None, "reason": "the run is already fp32 eager"}
    _, model = build(reference, info, plan, device)
    stepper = make_stepper(reference, model, plan, device, hooks_for(device))
    count = len(plan.train)
    twin = []
    for number in range(len(losses)):
        first = number * spec.grad_accum
        batches = [plan.train[(first + i) % count] for i in range(spec.grad_accum)]
        twin.append(stepper.step(number, batches).loss)
    gaps = [abs(a - b) / max(abs(b), 1e-8) for a, b in zip(losses, twin, strict=True)]
    worst = max(gaps) if gaps else None
    differs = [
        s
        for s, on in (
            ("autocast " + spec.dtype, spec.dtype != "fp32"),
            ("gradient checkpointing", spec.grad_checkpointing),
        )
        if on
    ]
    return {
        "reference": "fp32 without " + " and ".join(differs) + ", same data, seed and steps",
        "steps": len(losses),
        "reference_losses": twin,
        "max_relative_difference": worst,
        "tolerance": PARITY_TOLERANCE,
        "warning": (
            f"loss curves differ by up to {worst:.1%} from fp32 (tolerance {PARITY_TOLERANCE:.0%})"
            if worst is not None and worst > PARITY_TOLERANCE
            else None
        ),
    }
