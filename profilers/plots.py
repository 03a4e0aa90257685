"""PNG plots of a report (optional extra ``plots``: matplotlib).

Per model: throughput against batch size per configuration, latency percentiles (p50, p90, p99)
against batch size, and memory against batch size. Each function returns a ``Drawn`` holding the
series read back from the drawn matplotlib lines, so tests check what was drawn, not just that a
file exists. pyplot is not used (no global state, no display needed).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.errors import UnsupportedError
from profilers.files import check_target, write_bytes
from profilers.report import ModelReport, Report, Row, batch_series
from profilers.report.training import TrainingRow

Series = dict[str, list[tuple[float, float]]]
_PERCENTILES: tuple[tuple[str, Callable[[Row], float | None], str], ...] = (
    ("p50", lambda r: r.p50_ms, "-"),
    ("p90", lambda r: r.p90_ms, "--"),
    ("p99", lambda r: r.p99_ms, ":"),
)


def require_matplotlib() -> None:
    """Raise a clear error when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UnsupportedError(
            "--plots needs matplotlib, which is not installed: pip install matplotlib "
            "(the 'plots' extra of plmprof)"
        ) from None


@dataclass(frozen=True)
class Drawn:
    """A saved plot and the data its lines hold (label -> [(x, y), ...])."""

    kind: str
    model: str
    path: Path
    title: str
    xlabel: str
    ylabel: str
    series: Series
    png: bytes = field(default=b"", repr=False)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "model"


def _new_axes() -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.8), layout="constrained")
    return figure, figure.subplots()


def _finish(
    figure: Any, axes: Any, path: Path, kind: str, model: str, title: str, ylabel: str
) -> Drawn:
    axes.set_title(title)
    axes.set_xlabel("batch size")
    axes.set_ylabel(ylabel)
    axes.set_xscale("log", base=2)
    batches = sorted({float(x) for line in axes.get_lines() for x in line.get_xdata()})
    if batches:
        axes.set_xticks(batches, [f"{b:g}" for b in batches])
        axes.minorticks_off()
    axes.grid(True, alpha=0.3)
    if axes.get_lines():
        axes.legend(fontsize="small")
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=110)
    drawn = {
        str(line.get_label()): [
            (float(x), float(y)) for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True)
        ]
        for line in axes.get_lines()
    }
    return Drawn(kind, model, path, title, "batch size", ylabel, drawn, png.getvalue())


def _lines(
    axes: Any, series: Series, style: str = "-", suffix: str = "", color: Any = None
) -> None:
    for label, points in series.items():
        xs = [x for x, _ in points]
        ys = [y for _, y in points]
        axes.plot(xs, ys, style, marker="o", label=label + suffix, color=color)


def plot_throughput(model: ModelReport, folder: Path) -> Drawn:
    figure, axes = _new_axes()
    series = batch_series(model.rows, lambda r: r.sequences_per_s)
    _lines(axes, {k: [(float(b), v) for b, v in pts] for k, pts in series.items()})
    path = folder / f"{_slug(model.model)}-throughput.png"
    title = f"{model.model}: throughput against batch size"
    return _finish(figure, axes, path, "throughput", model.model, title, "sequences/s")


def plot_latency(model: ModelReport, folder: Path) -> Drawn:
    figure, axes = _new_axes()
    colors = _colors()
    for index, (config, _) in enumerate(batch_series(model.rows, lambda r: r.p50_ms).items()):
        rows = [r for r in model.rows if r.config == config]
        for name, value, style in _PERCENTILES:
            points = batch_series(rows, value).get(config, [])
            if points:
                color = colors[index % len(colors)]
                _lines(axes, {config: [(float(b), v) for b, v in points]}, style, f" {name}", color)
    path = folder / f"{_slug(model.model)}-latency.png"
    title = f"{model.model}: latency percentiles per batch"
    return _finish(figure, axes, path, "latency", model.model, title, "ms per batch")


def plot_memory(model: ModelReport, folder: Path) -> Drawn:
    figure, axes = _new_axes()
    series = batch_series(model.rows, lambda r: r.peak_memory_mb)
    _lines(axes, {k: [(float(b), v) for b, v in pts] for k, pts in series.items()})
    kinds = sorted({r.memory_kind for r in model.rows if r.memory_kind})
    path = folder / f"{_slug(model.model)}-memory.png"
    title = f"{model.model}: peak memory against batch size"
    ylabel = f"peak memory, MB ({', '.join(kinds) or 'not measured'})"
    return _finish(figure, axes, path, "memory", model.model, title, ylabel)


def plot_training(rows: Sequence[TrainingRow], folder: Path) -> list[Drawn]:
    """Training seq/s and peak memory against batch size, one line per model, workload and
    training setup (model size is in the label)."""
    drawn = []
    for kind, value, ylabel in (
        ("training-throughput", lambda r: r.sequences_per_s, "training sequences/s"),
        ("training-memory", lambda r: r.peak_memory_mb, "peak memory, MB"),
    ):
        series: dict[str, list[tuple[float, float]]] = {}
        for row in rows:
            y = value(row)
            if row.status == "ok" and row.batch_size is not None and y is not None:
                size = f"{(row.parameters or 0) / 1e6:.0f}M"
                label = f"{row.model} ({size}) {row.workload} {row.setup}"
                series.setdefault(label, []).append((float(row.batch_size), y))
        if not series:
            continue
        figure, axes = _new_axes()
        _lines(axes, {k: sorted(v) for k, v in series.items()})
        path = folder / f"{kind}.png"
        title = f"{ylabel} against batch size"
        drawn.append(_finish(figure, axes, path, kind, "training", title, ylabel))
    return drawn


def _colors() -> Sequence[Any]:
    from matplotlib import rcParams

    return list(rcParams["axes.prop_cycle"].by_key().get("color", [None]))


def draw_report(report: Report, folder: str | Path, *, overwrite: bool = False) -> list[Drawn]:
    """Every plot of every model that has ok points with a fixed batch size, saved in ``folder``
    by plmprof's file policy (``profilers.files``; existing plots replaced only with
    ``overwrite``)."""
    require_matplotlib()
    target = Path(folder)
    drawn = []
    for model in report.models:
        if not any(r.batch_size is not None for r in model.rows):
            continue
        for plot in (plot_throughput, plot_latency, plot_memory):
            drawn.append(plot(model, target))
    drawn.extend(plot_training(report.training, target))
    for done in drawn:  # all drawn before any is written: a refusal leaves no half set
        check_target(done.path, overwrite=overwrite)
    for done in drawn:
        write_bytes(done.path, done.png, overwrite=overwrite)
    return drawn
