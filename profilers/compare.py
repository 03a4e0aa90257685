"""Two Results side by side, and a regression gate for CI.

``compare(a, b)`` lines up the figures of A (the reference) and B with their ratio B/A and whether
B is better. ``gate(a, b, metric, threshold_pct)`` says whether B is slower than A by more than the
threshold on one metric: for throughput lower is slower, for latency (p50, p99) higher is slower.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engines.errors import InvalidInputError
from engines.messages import Status
from profilers.coerce import number
from profilers.labels import unbacked_percentiles
from profilers.result import Result
from profilers.sections import Sections
from profilers.stats import min_samples


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    path: tuple[str, str]  # (section, figure) of profilers.sections
    scale: float
    higher_is_better: bool

    def value(self, result: Result) -> float | None:
        """The figure in this metric's unit, or None when the Result has none."""
        section_name, figure = self.path
        if section_name == "training":  # a training run's own section: dotted path, plain data
            found: Any = result.training
            for key in figure.split("."):
                found = found.get(key) if isinstance(found, Mapping) else None
            value = number(found)
        else:
            section = getattr(Sections.of(result), section_name)
            value = None if section is None else getattr(section, figure)
        return None if value is None else float(value) * self.scale


METRICS: tuple[Metric, ...] = (
    Metric("throughput", "throughput", "seq/s", ("throughput", "sequences_per_s"), 1, True),
    Metric("tokens", "tokens/s", "tok/s", ("throughput", "tokens_per_s"), 1, True),
    Metric("residues", "residues/s", "res/s", ("throughput", "residues_per_s"), 1, True),
    Metric("p50", "p50 latency", "ms", ("latency", "p50"), 1000, False),
    Metric("p90", "p90 latency", "ms", ("latency", "p90"), 1000, False),
    Metric("p99", "p99 latency", "ms", ("latency", "p99"), 1000, False),
    Metric("mean", "mean latency", "ms", ("latency", "mean"), 1000, False),
    Metric("ram", "peak RSS", "MB", ("memory", "max_ram"), 1, False),
    Metric("allocated", "peak allocated", "MB", ("memory", "max_allocated"), 1, False),
    Metric("mfu", "useful MFU", "%", ("efficiency", "useful_mfu"), 100, True),
    Metric("energy", "energy per sequence", "J", ("energy", "joules_per_sequence"), 1, False),
    Metric("cost", "cost per 1M sequences", "USD", ("cost", "per_million_sequences"), 1, False),
    Metric("step", "training step p50", "ms", ("training", "step_time.p50"), 1000, False),
    Metric("steps", "training steps/s", "steps/s", ("training", "steps_per_s"), 1, True),
    Metric("forward", "forward p50", "ms", ("training", "phases.forward.p50_s"), 1000, False),
    Metric("backward", "backward p50", "ms", ("training", "phases.backward.p50_s"), 1000, False),
    Metric("optimizer", "optimizer p50", "ms", ("training", "phases.optimizer.p50_s"), 1000, False),
    Metric("accuracy", "held-out accuracy", "%", ("training", "evaluation.accuracy"), 100, True),
    Metric("ttt", "time to train", "h", ("training", "time_to_train.hours"), 1, False),
    Metric("optstate", "optimizer state", "MB", ("training", "memory.optimizer_state"), 1, False),
)
BY_KEY = {m.key: m for m in METRICS}
GATE_METRICS = ("throughput", "p50", "p99", "step")
# Settings that make two runs different experiments (shown when they differ).
_SPEC_SHOWN = (
    "model",
    "device",
    "dtype",
    "autocast",
    "int8",
    "prune",
    "attention",
    "packing",
    "compile",
    "batch_size",
    "token_budget",
    "seq_len",
    "lengths",
    "fasta",
    "workers",
    "threads",
    "weights",
    "mode",
    "task",
    "finetune",
    "grad_checkpointing",
    "optimizer",
    "lr",
    "grad_accum",
)
_ENV_SHOWN = ("host", "cpu", "instance_type", "torch", "transformers", "plmprof", "cuda_driver")


@dataclass(frozen=True)
class Line:
    metric: Metric
    a: float | None
    b: float | None

    @property
    def ratio(self) -> float | None:
        """B ÷ A."""
        if self.a is None or self.b is None or self.a == 0:
            return None
        return self.b / self.a

    @property
    def change_pct(self) -> float | None:
        ratio = self.ratio
        return None if ratio is None else (ratio - 1) * 100

    @property
    def better(self) -> bool | None:
        """Whether B is better than A on this metric (None when equal or not comparable)."""
        if self.a is None or self.b is None or self.a == self.b:
            return None
        return (self.b > self.a) == self.metric.higher_is_better


@dataclass(frozen=True)
class Comparison:
    a: Result
    b: Result
    lines: list[Line]
    spec_differences: list[tuple[str, Any, Any]]
    environment_differences: list[tuple[str, Any, Any]]


def compare(a: Result, b: Result) -> Comparison:
    lines = [Line(m, m.value(a), m.value(b)) for m in METRICS]
    lines = [line for line in lines if line.a is not None or line.b is not None]
    return Comparison(
        a,
        b,
        lines,
        _differences(a.spec, b.spec, _SPEC_SHOWN),
        _differences(a.environment, b.environment, _ENV_SHOWN),
    )


def _differences(a: Any, b: Any, keys: tuple[str, ...]) -> list[tuple[str, Any, Any]]:
    a = a if isinstance(a, Mapping) else {}
    b = b if isinstance(b, Mapping) else {}
    return [(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)]


@dataclass(frozen=True)
class Verdict:
    """``slower_pct``: how much slower B is than A on ``metric`` (negative: faster); ``regressed``:
    slower by more than ``threshold_pct`` (never without a threshold), or B failed."""

    metric: Metric
    a: float | None
    b: float | None
    slower_pct: float | None
    threshold_pct: float | None
    regressed: bool
    message: str
    # Which of A and B too few samples back the gated percentile in ("A", "B"); empty for
    # throughput, and when both runs hold enough samples.
    unbacked: tuple[str, ...] = ()


def slower_pct(metric: Metric, a: float, b: float) -> float:
    """How much slower ``b`` is than ``a``, in percent of ``a``."""
    change = (a - b) if metric.higher_is_better else (b - a)
    return change / a * 100


def _unbacked(metric: str, a: Result, b: Result) -> tuple[str, ...]:
    return tuple(
        name
        for name, result in (("A", a), ("B", b))
        if metric in unbacked_percentiles(result.latency)
    )


def _samples_note(metric: Metric, unbacked: tuple[str, ...], a: Result, b: Result) -> str:
    counts = {"A": (a.latency or {}).get("count", 0), "B": (b.latency or {}).get("count", 0)}
    p = float(metric.key.removeprefix("p"))
    runs = " and ".join(f"{name} ({counts[name]:,} samples)" for name in unbacked)
    return (
        f"{metric.key} rests on too few samples in {runs}: it needs {min_samples(p):,} "
        "(LoadGen's rule at 99% confidence)"
    )


def gate(
    a: Result,
    b: Result,
    metric: str = "throughput",
    threshold_pct: float | None = None,
    strict_samples: bool = False,
) -> Verdict:
    """Whether B regressed against A. A must be a usable reference (status ok, the metric
    measured): otherwise ``InvalidInputError``. A B that failed or lacks the metric regressed.

    A latency percentile that too few samples back in A or B is too noisy to gate on: the
    message says so, and the verdict is a regression only with ``strict_samples`` (whatever the
    change), never from the comparison alone."""
    if metric not in GATE_METRICS:
        raise InvalidInputError(f"--metric '{metric}' is not one of {', '.join(GATE_METRICS)}")
    if threshold_pct is not None and (not math.isfinite(threshold_pct) or threshold_pct < 0):
        raise InvalidInputError(f"the threshold must be 0% or more (got {threshold_pct}%)")
    chosen = BY_KEY[metric]
    a_value, b_value = chosen.value(a), chosen.value(b)
    if a.status != Status.OK or a_value is None or a_value <= 0:
        raise InvalidInputError(
            f"A (run {a.run_id}) cannot be the reference: status '{a.status}', "
            f"{chosen.label} {'not measured' if a_value is None else a_value}"
        )
    if b.status != Status.OK or b_value is None:
        return Verdict(
            chosen,
            a_value,
            b_value,
            None,
            threshold_pct,
            threshold_pct is not None,
            f"B (run {b.run_id}) has no {chosen.label}: status '{b.status}'"
            + (f" ({b.message})" if b.message else ""),
        )
    slower = slower_pct(chosen, a_value, b_value)
    regressed = threshold_pct is not None and slower > threshold_pct
    word = "slower" if slower > 0 else "faster"
    message = f"B is {abs(slower):.1f}% {word} than A on {chosen.label}"
    if threshold_pct is not None:
        verdict = "more than" if regressed else "within"
        message += f" ({verdict} the {threshold_pct:g}% allowed)"
    unbacked = _unbacked(metric, a, b)
    if unbacked:
        message += "; " + _samples_note(chosen, unbacked, a, b)
        if threshold_pct is not None:
            regressed = strict_samples
            message += (
                ": failing, as --strict-samples asks"
                if strict_samples
                else ": not gated (add --strict-samples to fail on it)"
            )
    return Verdict(chosen, a_value, b_value, slower, threshold_pct, regressed, message, unbacked)
