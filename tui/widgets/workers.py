"""Worker status rows and the run header: what runs, its phase, progress and time left."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

from engines.messages import Status
from engines.spec import RunSpec
from profilers.labels import batching_label
from profilers.result import Result
from profilers.snapshot import Snapshot, WorkerState
from tui.render.summary import status_words
from tui.widgets.fitted import FittedText
from tui.widgets.units import NA, bar, duration, size

PHASE_WORDS = {
    "starting": "starting",
    "loading": "starting process",
    "importing": "importing libraries",
    "planning": "planning batches",
    "building": "building model",
    "optimizing": "optimizing",
    "compiling": "compiling",
    "warming": "warming up",
    "measuring": "measuring",
    "done": "done",
}
STATUS_STYLES: dict[str, str] = {Status.OK: "green", Status.INTERRUPTED: "yellow"}


def status_style(status: str | None) -> str:
    return "" if status is None else STATUS_STYLES.get(status, "bold red")


def describe_spec(spec: RunSpec) -> str:
    """One line: model, devices, optimizations, batching and workload."""
    devices = ",".join(spec.devices) or spec.device
    parts = [spec.model, devices, spec.dtype + (" autocast" if spec.autocast else "")]
    if spec.int8 != "none":
        parts.append(f"int8 {spec.int8}")
    if spec.prune != "none":
        parts.append(f"prune {spec.prune}")
    parts.append(spec.attention)
    if spec.compile != "none":
        parts.append(f"compile {spec.compile}")
    parts.append(batching_label(spec.to_dict()))
    if spec.seq_len is not None:
        parts.append(f"{spec.seq_len} res")
    else:
        parts.append(spec.lengths or Path(spec.fasta or "").name)
    if spec.workers > 1:
        parts.append(f"{spec.workers} workers")
    return " · ".join(parts)


@dataclass
class LiveRun:
    """The run the live view shows: its spec, latest snapshot and, once over, its Result."""

    spec: RunSpec
    snapshot: Snapshot | None = None
    stopping: bool = False
    result: Result | None = None
    saved: Path | None = None
    save_error: str | None = None


def header_text(run: LiveRun | None, width: int) -> Text:
    if run is None:
        return Text.assemble(
            ("No run yet. ", "bold"),
            "Press r to run what the Setup tab (1) holds; s stops a run, ? lists every key.",
        )
    text = Text(describe_spec(run.spec), style="bold")
    snapshot = run.snapshot
    if snapshot is not None and snapshot.truncated:
        text.append(
            f" · {snapshot.truncated:,} cut to {snapshot.max_residues:,} res", style="bold yellow"
        )
    text.append("\n")
    if run.result is not None:
        result = run.result
        text.append(status_words(result.status), style=status_style(result.status))
        text.append(f" · run {result.run_id}")
        if (result.contention or {}).get("contended"):
            text.append(" · CONTENDED (other work on the machine)", style="bold red")
        if run.saved is not None:
            text.append(f" · saved to {run.saved}")
        if run.save_error is not None:
            text.append(f" · NOT saved: {run.save_error}", style="bold red")
        if result.message:
            text.append(f"\n{result.message}", style=status_style(result.status))
        return text
    phase = "stopping, keeping what was measured" if run.stopping else "starting"
    if snapshot is not None and not run.stopping:
        phase = PHASE_WORDS.get(snapshot.phase, snapshot.phase)
    progress = snapshot.progress if snapshot else 0.0
    parts = [f" {progress * 100:3.0f} %"]
    if snapshot is not None:
        left = snapshot.time_left_s
        if left is not None:
            parts.append(f"{duration(left)} left")
        parts += [
            f"{duration(snapshot.elapsed_s)} elapsed",
            f"{snapshot.batches:,} batches",
            f"{snapshot.sequences:,} seq",
        ]
    head = f"{phase:<10} "
    while len(parts) > 2 and len(head) + len(" · ".join(parts)) + 12 > width:
        parts.pop()  # keep what fits on one line: progress and time left first
    tail = " · ".join(parts)
    text.append(head, style="yellow" if run.stopping else "cyan")
    text.append("▕", style="dim")
    text.append_text(bar(progress, max(8, min(40, width - len(head) - len(tail) - 2)), "cyan"))
    text.append("▏", style="dim")
    text.append(tail)
    return text


class RunHeader(FittedText):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run: LiveRun | None = None

    def show(self, run: LiveRun | None) -> None:
        self.run = run
        self.refresh(layout=True)

    def text(self, width: int) -> Text:
        return header_text(self.run, width)


def _worker_row(worker: WorkerState) -> Text:
    phase = PHASE_WORDS.get(worker.phase, worker.phase)
    text = Text(f"{worker.index:<3}{worker.device:<8}{phase:<14}")
    text.append(f"{worker.iterations:>7,}  {size(worker.rss_bytes):>8}  ")
    text.append(status_words(worker.status), style=status_style(worker.status))
    if worker.message:
        text.append(f"\n   {worker.message}", style=status_style(worker.status) or "dim")
    return text


def workers_text(snapshot: Snapshot | None) -> Text:
    header = f"{'#':<3}{'device':<8}{'phase':<14}{'batches':>7}  {'RSS peak':>8}  status"
    text = Text(header + "\n", style="bold")
    if snapshot is None or not snapshot.workers:
        text.append(NA, style="dim")
        return text
    for i, worker in enumerate(snapshot.workers):
        if i:
            text.append("\n")
        text.append_text(_worker_row(worker))
    return text


class WorkersPanel(Widget):
    DEFAULT_CSS = "WorkersPanel { height: auto; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.snapshot: Snapshot | None = None

    def on_mount(self) -> None:
        self.border_title = "workers"

    def show(self, snapshot: Snapshot | None) -> None:
        self.snapshot = snapshot
        self.refresh(layout=True)

    def render(self) -> RenderableType:
        return workers_text(self.snapshot)
