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
from profilers.sweep import MaxBatchSearch, SweepEvent, SweepPoint
from tui.render.summary import status_words
from tui.widgets.units import duration, number


def time_left(seconds: float | None) -> str:
    return "" if seconds is None else f"~{duration(max(0.0, seconds))} left"


class SweepProgress:
    """A rich progress bar on stderr with the time left, and one line per finished point."""

    def __init__(self, console: Console, axes: list[str]) -> None:
        self.console = console
        self.axes = axes
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
            line = f"{'started':>11}  {point_words(point, self.axes)} on {point.node}"
            self.progress.console.print(line, markup=False, highlight=False)
        if event.kind in ("point_started", "snapshot") and point is not None:
            detail = f" on {point.node}" if point.node else ""
            if event.snapshot is not None:
                rate = event.snapshot.sequences_per_s
                detail = f" {event.snapshot.phase}" + (f" {number(rate, 'seq/s')}" if rate else "")
            words = point_words(point, self.axes)
            self.progress.update(self.task, description=f"{words}{detail}", left=left)
        elif event.kind == "point_finished" and point is not None:
            self.progress.update(self.task, completed=event.done, left=left)
            line = finished_line(point, self.axes)
            self.progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
        elif event.kind == "probe_started" and point is not None:
            self.progress.update(self.task, description=f"probe batch {point.index}", left="")
        elif event.kind == "probe_finished" and point is not None:
            again = " again" if point.settings.get("run") else ""
            line = f"  batch {point.index}{again}: {point.status}"
            self.progress.console.print(line, markup=False, highlight=False)
        elif event.kind == "finished":
            self.progress.update(self.task, completed=event.done, description="done", left="")


def finished_line(point: SweepPoint, axes: list[str]) -> str:
    words = status_words(point.status)
    line = f"{point.status:>11}  {point_words(point, axes)}"
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


# Short headers for the settings a grid varies (the rest: the field name, spaced).
_AXIS_HEADERS = {
    "batch_size": "batch",
    "seq_len": "len",
    "token_budget": "tokens",
    "attention": "attn",
    "num_sequences": "seqs",
    "memory_limit_mb": "mem MB",
    "duration_s": "secs",
    "prune_layers": "-layers",
    "prune_heads": "-heads",
}


def axis_names(points: list[SweepPoint], batch: bool = True) -> list[str]:
    """The settings that tell the points apart (every grid axis), batch size always among
    them: a row must say which point it is without a cut-off slug. ``batch=False`` (a max-batch
    search, where the batch size is what is searched): every axis but the batch size, or the
    model when nothing varies."""
    names: dict[str, None] = {}
    for point in points:
        names.update(dict.fromkeys(point.settings))
    if batch:
        names.setdefault("batch_size")
    else:
        names.pop("batch_size", None)
    return list(names) or ["model"]


def axis_value(point: SweepPoint, name: str) -> str:
    if name in point.settings:
        value = point.settings[name]
    else:
        value = getattr(point.spec, name, None) if point.spec is not None else None
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return "–" if value is None else str(value)


def point_words(point: SweepPoint, names: list[str]) -> str:
    """``#3 dtype=bf16 batch=4``: a point in one short line."""
    values = " ".join(f"{_AXIS_HEADERS.get(n, n)}={axis_value(point, n)}" for n in names)
    return f"#{point.index} {values}"


def axes_table(points: list[SweepPoint], title: str, batch: bool = True) -> tuple[Table, list[str]]:
    """``batch=False``: a max-batch search's table."""
    files = "sweep.json and sweep.csv" if batch else "max-batch.json"
    table = Table(title=title, caption=f"# = the point's index in {files}")
    table.add_column("#", justify="right", no_wrap=True)
    names = axis_names(points, batch)
    for name in names:
        table.add_column(_AXIS_HEADERS.get(name, name.replace("_", " ")), no_wrap=True)
    return table, names


def plan_table(points: list[SweepPoint], title: str, batch: bool = True) -> Table:
    """What would run; ``batch=False`` for a max-batch plan (no batch size is set yet)."""
    table, names = axes_table(points, title, batch)
    table.add_column("status", no_wrap=True)
    table.add_column("reason", overflow="fold")
    for point in points:
        table.add_row(
            str(point.index),
            *(axis_value(point, n) for n in names),
            point.status,
            point.reason or "",
        )
    return table


def points_table(points: list[SweepPoint], title: str) -> Table:
    """One row per point: its axis values, a ``node`` column when points ran on a cluster."""
    table, names = axes_table(points, title)
    nodes = any(point.node for point in points)
    if nodes:
        table.add_column("node")
    table.add_column("status")
    for name in ("seq/s", "p50 ms", "p99 ms", "RSS MB"):
        table.add_column(name, justify="right", no_wrap=True)
    for point in points:
        figures = point.figures
        status = point.status + (" (resumed)" if point.resumed else "")
        table.add_row(
            str(point.index),
            *(axis_value(point, n) for n in names),
            *((point.node or "–",) if nodes else ()),
            status,
            *(
                format_value(figures.get(k))
                for k in ("sequences_per_s", "p50_ms", "p99_ms", "max_ram_mb")
            ),
        )
    return table


def max_batch_table(searches: list[MaxBatchSearch], title: str) -> Table:
    """One row per searched point: its axis values (not the batch size: that is the answer),
    the largest batch that ran ok every time, the smallest that ran out of memory, the cap, the
    probes, and a note (a batch that ran both ways; why the search stopped)."""
    table, names = axes_table([s.point for s in searches], title, batch=False)
    for name in ("largest ok", "smallest oom", "memory cap", "probes"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("note", overflow="fold")
    for search in searches:
        spec = search.point.spec
        cap = f"{spec.memory_limit_mb} MB" if spec and spec.memory_limit_mb else "device memory"
        table.add_row(
            str(search.point.index),
            *(axis_value(search.point, n) for n in names),
            format_value(search.largest_ok),
            format_value(search.smallest_too_big),
            cap,
            str(len(search.probes)),
            "; ".join(filter(None, (search.note, search.stopped))),
        )
    return table
