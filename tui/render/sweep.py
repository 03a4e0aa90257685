"""How ``plmprof sweep`` shows itself: a progress bar with the time left, one line per finished
point, the points that cannot run grouped by reason, and the plan and outcome tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from engines.messages import Status
from profilers.export import format_value
from profilers.layout import SKIPPED
from profilers.sweep import SweepEvent, SweepPoint
from tui.render.summary import STATUS_WORDS
from tui.widgets.units import duration


def time_left(seconds: float | None) -> str:
    return "" if seconds is None else f"~{duration(max(0.0, seconds))} left"


class SweepProgress:
    """A rich progress bar on stderr with the time left, and one line per finished point."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[left]}"),
            console=console,
            transient=True,
        )
        self.task: Any = None

    def __enter__(self) -> SweepProgress:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def __call__(self, event: SweepEvent) -> None:
        if self.task is None:
            self.task = self.progress.add_task("", total=event.total or None, left="")
        left = time_left(event.time_left_s)
        point = event.point
        if event.kind == "point_started" and point is not None and point.node:
            line = f"{'started':>11}  {point.label} on {point.node}"
            self.progress.console.print(line, markup=False, highlight=False)
        if event.kind in ("point_started", "snapshot") and point is not None:
            detail = f" on {point.node}" if point.node else ""
            if event.snapshot is not None:
                rate = event.snapshot.sequences_per_s
                detail = f" {event.snapshot.phase}" + (f" {rate:.1f} seq/s" if rate else "")
            self.progress.update(self.task, description=f"{point.label}{detail}", left=left)
        elif event.kind == "point_finished" and point is not None:
            self.progress.update(self.task, completed=event.done, left=left)
            self.progress.console.print(finished_line(point), markup=False, highlight=False)
        elif event.kind == "probe_started" and point is not None:
            self.progress.update(self.task, description=f"probe batch {point.index}", left="")
        elif event.kind == "probe_finished" and point is not None:
            line = f"  batch {point.index}: {point.status}"
            self.progress.console.print(line, markup=False, highlight=False)
        elif event.kind == "finished":
            self.progress.update(self.task, completed=event.done, description="done", left="")


def finished_line(point: SweepPoint) -> str:
    words = STATUS_WORDS.get(point.status, point.status)
    line = f"{point.status:>11}  {point.label}"
    figures = point.figures
    if point.status == Status.OK and figures:
        line += (
            f"  {format_value(figures.get('sequences_per_s'))} seq/s"
            f"  p50 {format_value(figures.get('p50_ms'))} ms"
        )
    elif point.reason:
        line += f"  ({words}: {point.reason})"
    if point.node and not point.reason:
        line += f"  on {point.node}"
    return line


def print_skipped(points: list[SweepPoint], err: Console) -> None:
    """Skipped points grouped by reason (sweep.json lists each one)."""
    skipped = [p for p in points if p.status == SKIPPED]
    if not skipped:
        return
    err.print(f"{len(skipped)} of {len(points)} points cannot run here and are skipped:")
    reasons: dict[str, list[SweepPoint]] = {}
    for point in skipped:
        reasons.setdefault(point.reason or "no reason given", []).append(point)
    for reason, group in reasons.items():
        shown = ", ".join(str(p.index) for p in group[:12])
        more = f" and {len(group) - 12} more" if len(group) > 12 else ""
        err.print(f"  - {reason} (points {shown}{more})", markup=False, highlight=False)


def plan_table(points: list[SweepPoint], title: str) -> Table:
    table = Table(title=title)
    for name in ("#", "point", "status", "reason"):
        table.add_column(name, justify="right" if name == "#" else "left")
    for point in points:
        table.add_row(str(point.index), point.label, point.status, point.reason or "")
    return table


def points_table(points: list[SweepPoint], title: str) -> Table:
    """One row per point; a ``node`` column when points ran on a cluster."""
    table = Table(title=title)
    nodes = any(point.node for point in points)
    for name, justify in (
        ("#", "right"),
        ("point", "left"),
        *((("node", "left"),) if nodes else ()),
        ("status", "left"),
        ("seq/s", "right"),
        ("p50 ms", "right"),
        ("p99 ms", "right"),
        ("RSS MB", "right"),
    ):
        table.add_column(name, justify=justify)
    for point in points:
        figures = point.figures
        status = point.status + (" (resumed)" if point.resumed else "")
        table.add_row(
            str(point.index),
            point.label,
            *((point.node or "–",) if nodes else ()),
            status,
            *(
                format_value(figures.get(k))
                for k in ("sequences_per_s", "p50_ms", "p99_ms", "max_ram_mb")
            ),
        )
    return table
