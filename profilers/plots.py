"""PNG plots of a report (optional extra ``plots``: matplotlib).

Per model: throughput against batch size per configuration, latency percentiles (p50, p90, p99)
against batch size, memory against batch size, and throughput per hardware when the model ran on
more than one. Across models: throughput and memory against model size (parameters) and against
sequence length, when the report holds at least two sizes or lengths of one setting.

Each function returns a ``Drawn`` holding the series read back from the drawn matplotlib lines,
so tests check what was drawn, not just that a file exists. pyplot is not used (no global
state, no display needed).
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


def _millions(value: float) -> str:
    return f"{value / 1e6:.3g}M"


@dataclass(frozen=True)
class XAxis:
    """What a plot's x axis holds: its label, log base and how a tick is written."""

    label: str
    base: int = 2
    tick: Callable[[float], str] = "{:g}".format


BATCH = XAxis("batch size")
LENGTH = XAxis("sequence length (residues)")
SIZE = XAxis("model parameters", 10, _millions)


def _finish(
    figure: Any,
    axes: Any,
    path: Path,
    kind: str,
    model: str,
    title: str,
    ylabel: str,
    x: XAxis = BATCH,
) -> Drawn:
    axes.set_title(title, fontsize="medium")
    axes.set_xlabel(x.label)
    axes.set_ylabel(ylabel)
    axes.set_xscale("log", base=x.base)
    ticks = sorted({float(v) for line in axes.get_lines() for v in line.get_xdata()})
    if ticks:
        axes.set_xticks(ticks, [x.tick(t) for t in ticks])
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
    return Drawn(kind, model, path, title, x.label, ylabel, drawn, png.getvalue())


def in_number_order(label: str) -> list[tuple[int, float | str]]:
    """Sort key reading numbers as numbers: "len 64" before "len 128", "batch 4" before 16."""
    parts = re.split(r"(\d+(?:\.\d+)?)", label)
    return [(0, float(p)) if i % 2 else (1, p) for i, p in enumerate(parts) if p]


def _lines(
    axes: Any, series: Series, style: str = "-", suffix: str = "", color: Any = None
) -> None:
    for label, points in sorted(series.items(), key=lambda item: in_number_order(item[0])):
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


def _series(
    rows: Sequence[Row],
    label: Callable[[Row], str],
    x: Callable[[Row], float | None],
    y: Callable[[Row], float | None],
    fewest: int = 2,
) -> Series:
    """Ok rows as lines (the last row wins a repeated x); lines of under ``fewest`` points are
    left out."""
    lines: dict[str, dict[float, float]] = {}
    for row in rows:
        at, value = x(row), y(row)
        if row.ok and at is not None and value is not None:
            lines.setdefault(label(row), {})[float(at)] = value
    return {k: sorted(points.items()) for k, points in lines.items() if len(points) >= fewest}


def _memory_label(rows: Sequence[Row]) -> str:
    kinds = sorted({r.memory_kind for r in rows if r.memory_kind})
    return f"peak memory, MB ({', '.join(kinds) or 'not measured'})"


def _figures(
    rows: Sequence[Row], folder: Path, name: str, x: XAxis, value: Callable[[Row], float | None],
    label: Callable[[Row], str], what: str,
) -> list[Drawn]:  # fmt: skip
    """Throughput and peak memory against ``value`` (``name``: the file stem, ``what``: the
    lines' meaning in the title)."""
    drawn = []
    for kind, y, ylabel in (
        ("throughput", lambda r: r.sequences_per_s, "sequences/s"),
        ("memory", lambda r: r.peak_memory_mb, _memory_label(rows)),
    ):
        series = _series(rows, label, value, y)
        if not series:
            continue
        figure, axes = _new_axes()
        _lines(axes, series)
        title = f"{ylabel.split(',')[0]} against {x.label} ({what}; ok runs)"
        path = folder / f"{name}-{kind}.png"
        drawn.append(_finish(figure, axes, path, f"{name}-{kind}", "all", title, ylabel, x))
    return drawn


def plot_by_size(rows: Sequence[Row], folder: Path) -> list[Drawn]:
    """Throughput and memory against parameters, a line per device, precision, batch and
    workload that ran on two model sizes or more."""
    return _figures(
        rows, folder, "by-model-size", SIZE, lambda r: r.parameters,
        lambda r: f"{r.device} · {r.optimizations} · batch {r.batching} · {r.workload}",
        "a line per device, precision, batch and workload",
    )  # fmt: skip


def plot_by_length(rows: Sequence[Row], folder: Path) -> list[Drawn]:
    """Throughput and memory against sequence length, a line per model, device, precision and
    batch that ran at two lengths or more (synthetic ``--seq-len`` runs only)."""
    return _figures(
        rows, folder, "by-length", LENGTH, lambda r: r.seq_len,
        lambda r: f"{r.model} · {r.device} · {r.optimizations} · batch {r.batching}",
        "a line per model, device, precision and batch",
    )  # fmt: skip


def plot_devices(model: ModelReport, folder: Path) -> Drawn:
    """Throughput against batch size, a line per hardware (device vs device) and setting."""
    figure, axes = _new_axes()
    series = _series(
        model.rows,
        lambda r: f"{r.hardware} · {r.optimizations} · {r.workload}",
        lambda r: r.batch_size,
        lambda r: r.sequences_per_s,
        fewest=1,  # one batch size per hardware still compares them
    )
    _lines(axes, series)
    path = folder / f"{_slug(model.model)}-devices.png"
    title = f"{model.model}: throughput per hardware against batch size"
    return _finish(figure, axes, path, "devices", model.model, title, "sequences/s")


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
        if len(model.hardware) > 1:
            drawn.append(plot_devices(model, target))
    drawn.extend(plot_by_size(report.rows, target))
    drawn.extend(plot_by_length(report.rows, target))
    drawn.extend(plot_training(report.training, target))
    for done in drawn:  # all drawn before any is written: a refusal leaves no half set
        check_target(done.path, overwrite=overwrite)
    for done in drawn:
        write_bytes(done.path, done.png, overwrite=overwrite)
    return drawn
