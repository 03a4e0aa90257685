"""Rows a training Result adds to the summary table."""

from __future__ import annotations

from typing import Any

from profilers.export import format_value
from profilers.result import Result
from tui.widgets.units import duration, ms, number


def _phases(phases: dict[str, Any]) -> str:
    if not phases.get("separable"):
        return "not separable on this device"
    return " / ".join(
        f"{name} {ms((phases.get(name) or {}).get('p50_s'))}"
        for name in ("forward", "backward", "optimizer")
    )


def _accuracy(evaluation: dict[str, Any] | None) -> str:
    if not evaluation:
        return "–"
    if evaluation.get("accuracy") is None:
        return str(evaluation.get("reason") or "not measured")
    text = f"{evaluation['accuracy'] * 100:.1f}% ({evaluation.get('what')})"
    if evaluation.get("perplexity") is not None:
        text += f", perplexity {evaluation['perplexity']:.2f}"
    if evaluation.get("chance") is not None:
        text += f"; chance {evaluation['chance'] * 100:.0f}%"
    return text


def training_rows(result: Result) -> list[tuple[str, str]]:
    training = result.training
    if not training:
        return []
    memory = training.get("memory") or {}
    params = training.get("parameters") or {}
    loss = training.get("loss") or []
    flops = training.get("flops") or {}
    ttt = training.get("time_to_train") or {}
    parity = training.get("parity") or {}
    rows = [
        (
            "training",
            f"{training['task']} {training['finetune']} {training['optimizer']} "
            f"lr {training['lr']:g}, {number(params.get('trainable'))} of "
            f"{number(params.get('total'))} parameters trained",
        ),
        (
            "steps",
            f"{training['steps']['measured']} measured after {training['steps']['warmup']} "
            f"warm-up; first step {ms(training['steps']['first_step_s'])}",
        ),
        ("phases p50", _phases(training.get("phases") or {})),
        ("steps/s", format_value(training.get("steps_per_s"))),
        (
            "loss first → last",
            f"{loss[0]:.4f} → {loss[-1]:.4f} over {len(loss)} steps" if loss else "–",
        ),
        ("held-out accuracy", _accuracy(training.get("evaluation"))),
        (
            "memory",
            ", ".join(
                f"{label} {number(memory.get(key), 'MB')}"
                for label, key in (
                    ("params", "parameters"),
                    ("grads", "gradients"),
                    ("optimizer", "optimizer_state"),
                    ("activations", "activations_saved"),
                )
            ),
        ),
        (
            "FLOPs per step",
            f"{format_value(flops.get('model_per_step'))} model "
            f"({format_value(flops.get('model_to_forward'))}× forward)",
        ),
    ]
    if parity.get("max_relative_difference") is not None:
        rows.append(
            ("fp32 parity", f"loss curves within {parity['max_relative_difference'] * 100:.2f}%")
        )
    if ttt:
        cost = ttt.get("cost_usd")
        rows.append(
            (
                "time to train",
                f"{duration(ttt['seconds'])} for {ttt['epochs']:g} epochs of "
                f"{ttt['dataset_sequences']} sequences"
                + (f", {cost:.2f} USD" if cost is not None else ""),
            )
        )
    return rows
