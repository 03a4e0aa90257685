"""The report's training section: training seq/s and peak memory against model size × batch size
× sequence length, and the pLM-benchmark layout of training time, throughput and accuracy per
model and device."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from profilers.coerce import number
from profilers.report.rows import spec_of, workload_label
from profilers.result import Result
from profilers.sections import Sections


@dataclass(frozen=True)
class TrainingRow:
    file: str
    status: str
    model: str
    parameters: int | None
    trainable: int | None
    device: str
    setup: str  # task, what trains, precision
    batch_size: int | None
    workload: str
    sequences_per_s: float | None
    step_p50_ms: float | None
    peak_memory_mb: float | None
    memory_kind: str | None  # "allocated" (CUDA allocator) or "RSS"
    time_to_train_s: float | None
    cost_usd: float | None
    accuracy: float | None
    accuracy_what: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _get(data: Any, *path: str) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data


def _setup(spec: Mapping[str, Any], training: Mapping[str, Any]) -> str:
    precision = spec.get("dtype", "fp32")
    parts = [str(training.get("task")), str(training.get("finetune")), str(precision)]
    if training.get("gradient_checkpointing"):
        parts.append("checkpointing")
    return " ".join(parts)


def training_row(name: str, result: Result) -> TrainingRow | None:
    training = result.training
    if not isinstance(training, Mapping):
        return None
    spec = spec_of(result)
    sections = Sections.of(result)
    allocated = number(_get(training, "memory", "steady_peak_allocated"))
    ram = number(_get(training, "memory", "max_ram"))
    step = number(_get(training, "step_time", "p50"))
    evaluation = _get(training, "evaluation") or {}
    return TrainingRow(
        file=name,
        status=str(result.status),
        model=str(spec.get("model")),
        parameters=_get(training, "parameters", "total"),
        trainable=_get(training, "parameters", "trainable"),
        device=sections.device_name or str(spec.get("device")),
        setup=_setup(spec, training),
        batch_size=spec.get("batch_size") if not spec.get("token_budget") else None,
        workload=workload_label(spec),
        sequences_per_s=sections.throughput.sequences_per_s if sections.throughput else None,
        step_p50_ms=None if step is None else step * 1000,
        peak_memory_mb=allocated if allocated is not None else ram,
        memory_kind="allocated" if allocated is not None else "RSS" if ram is not None else None,
        time_to_train_s=number(_get(training, "time_to_train", "seconds")),
        cost_usd=number(_get(training, "time_to_train", "cost_usd")),
        accuracy=number(evaluation.get("accuracy")),
        accuracy_what=evaluation.get("what") or evaluation.get("reason"),
    )


def training_rows(results: Sequence[tuple[str, Result]]) -> list[TrainingRow]:
    """One row per training Result, by model size, then batch size and workload."""
    rows = [row for name, result in results if (row := training_row(name, result)) is not None]
    return sorted(
        rows, key=lambda r: (r.parameters or 0, r.model, r.setup, r.workload, r.batch_size or 0)
    )


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _params(value: int | None) -> str:
    return "–" if value is None else f"{value / 1e6:,.1f}M"


def training_markdown(rows: Sequence[TrainingRow], table: Any) -> str:
    """Both training tables; ``table(headers, rows)`` renders a Markdown table."""
    size = [
        [
            r.model,
            _params(r.parameters),
            r.batch_size if r.batch_size is not None else "budget",
            r.workload,
            r.setup,
            _fmt(r.sequences_per_s, 2),
            _fmt(r.step_p50_ms, 0),
            f"{_fmt(r.peak_memory_mb, 0)} ({r.memory_kind or 'not measured'})",
            r.status,
        ]
        for r in rows
    ]
    layout = [
        [
            r.model,
            r.device,
            r.setup,
            _duration(r.time_to_train_s),
            "–" if r.cost_usd is None else f"${r.cost_usd:,.2f}",
            _fmt(r.sequences_per_s, 2),
            "–" if r.accuracy is None else f"{r.accuracy:.1%}",
            r.accuracy_what or "",
        ]
        for r in rows
    ]
    return "\n".join(
        [
            "## Training\n",
            "Training sequences/s and peak memory against model size, batch size and sequence "
            "length (steady-state steps; warm-up and the first step excluded).\n",
            table(
                [
                    "model",
                    "parameters",
                    "batch",
                    "workload",
                    "training",
                    "seq/s",
                    "step p50 ms",
                    "peak memory MB",
                    "status",
                ],
                size,
            ),
            "Training time (for the run's dataset and epochs, first step included), throughput "
            "and held-out accuracy per model and device.\n",
            table(
                [
                    "model",
                    "device",
                    "training",
                    "time to train",
                    "cost",
                    "seq/s",
                    "accuracy",
                    "accuracy of",
                ],
                layout,
            ),
        ]
    )
