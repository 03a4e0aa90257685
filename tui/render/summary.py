"""Text forms of snapshots and results: the CLI's live status line and its summary table."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from engines.messages import Status
from profilers.export import format_value
from profilers.labels import (
    UNBACKED,
    backing_note,
    batch_sizes_label,
    batching_label,
    contention_label,
    price_label,
    startup_label,
    unbacked_percentiles,
    weights_label,
    workload_label,
)
from profilers.result import Result
from profilers.snapshot import Snapshot
from profilers.work import coverage_label
from tui.render.training import training_rows
from tui.widgets.units import NA, ms, number, size

STATUS_WORDS: dict[str, str] = {
    Status.OK: "finished",
    Status.OOM: "out of memory",
    Status.COMPILE_FAILED: "compilation failed",
    Status.UNSUPPORTED: "not supported here",
    Status.ERROR: "failed with an error",
    Status.CRASHED: "worker crashed",
    Status.INTERRUPTED: "stopped early (results kept)",
    Status.TIMEOUT: "cancelled past its deadline",
}
# In a table column (the Runs tab), where the full words would push the figures off an 80-column
# screen; the full words stay beside the table.
SHORT_STATUS_WORDS: dict[str, str] = {
    **STATUS_WORDS,
    Status.COMPILE_FAILED: "compile failed",
    Status.UNSUPPORTED: "unsupported",
    Status.ERROR: "error",
    Status.CRASHED: "crashed",
    Status.INTERRUPTED: "stopped early",
    Status.TIMEOUT: "timed out",
}


def status_words(status: str | None, short: bool = False) -> str:
    """A Result or worker status in words (``oom`` → ``out of memory``); ``None`` → running.
    ``short``: at most 14 characters, for a table column."""
    if status is None:
        return "running"
    return (SHORT_STATUS_WORDS if short else STATUS_WORDS).get(status, status)


def status_line(snapshot: Snapshot) -> str:
    latency = snapshot.latency_window
    parts = [f"{snapshot.phase:<9}", f"{snapshot.progress * 100:3.0f}%", f"{snapshot.batches} b"]
    if latency is not None:
        parts.append(f"p50 {ms(latency.p50)} p99 {ms(latency.p99)}")
    if snapshot.sequences_per_s is not None:
        parts.append(number(snapshot.sequences_per_s, "seq/s"))
    if snapshot.training is not None:
        parts.append(f"loss {snapshot.training['last_loss']:.4f}")
    rss = [w.rss_bytes for w in snapshot.workers if w.rss_bytes]
    if rss:
        parts.append(f"RSS {size(max(rss))}")
    telemetry = snapshot.telemetry
    if telemetry is not None and telemetry.gpus:
        gpu = telemetry.gpus[0]
        parts.append(f"GPU {format_value(gpu.utilization_pct)}% {format_value(gpu.power_w)} W")
    elif telemetry is not None and telemetry.host is not None:
        parts.append(f"CPU {format_value(telemetry.host.cpu_percent)}%")
    return " | ".join(parts)


def _row(label: str, value: Any, unit: str = "") -> tuple[str, str]:
    text = format_value(value)
    return label, f"{text} {unit}".strip() if text != NA else text


# Result notes the table already says in its own rows (machine, workload).
SHOWN_IN_ROWS = ("contended:", "workload:")


def result_table(result: Result) -> Table:
    spec = result.spec
    table = Table(title=f"plmprof run {result.run_id}", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    latency = result.latency or {}
    rate = result.throughput or {}
    memory = result.memory or {}
    efficiency = result.efficiency or {}
    energy = result.energy or {}
    workload = result.workload or {}
    unbacked = unbacked_percentiles(latency)
    rows = [
        ("status", status_words(result.status)),
        ("model", f"{spec['model']} on {(result.workers or [{}])[0].get('device_name') or '–'}"),
        ("settings", f"{spec['dtype']} {spec['attention']} {batching_label(spec)}"),
        ("timed", str(latency.get("covers") or "–")),
        ("workload", workload_label(workload, int(spec.get("workers") or 1))),
        ("measured", coverage_label(workload.get("coverage"))),
        ("batches", batch_sizes_label(workload.get("measured_batch_sizes"))),
        ("start-up", startup_label(result.timing)),
        (
            # a training run's calls are optimizer steps
            ("step" if result.training else "latency") + " p50 / p90 / p99",
            " / ".join(
                ms(latency.get(k)) + (UNBACKED if k in unbacked else "")
                for k in ("p50", "p90", "p99")
            ),
        ),
        *[("", note) for note in (backing_note(latency),) if note is not None],
        _row("sequences/s", rate.get("sequences_per_s")),
        _row("tokens/s", rate.get("tokens_per_s")),
        _row("residues/s", rate.get("residues_per_s")),
        ("peak RSS", _mb(memory.get("max_ram"))),
        ("peak allocated", _mb(memory.get("max_allocated"))),
        ("weights", weights_label(memory)),
        _row("useful MFU", _pct(efficiency.get("useful_mfu")), "%"),
        _row("energy per sequence", energy.get("joules_per_sequence"), "J"),
        _row("cost per 1M sequences", (result.cost or {}).get("per_million_sequences"), "USD"),
        ("price", price_label(result.cost)),
        ("machine", contention_label(result.contention)),
    ]
    rows[8:8] = training_rows(result)  # after the workload, batch and start-up rows
    for label, value in rows:
        table.add_row(label, value, style="bold red" if value.startswith("CONTENDED") else None)
    for note in result.notes:
        if not note.startswith(SHOWN_IN_ROWS):
            table.add_row("note", note)
    if result.message:
        table.add_row("message", result.message)
    return table


def _mb(megabytes: float | None) -> str:
    """A Result's MB (10⁶ bytes) figure in the units every screen uses (MB, GB)."""
    return size(None if megabytes is None else megabytes * 1e6)


def _pct(fraction: float | None) -> float | None:
    return None if fraction is None else fraction * 100
