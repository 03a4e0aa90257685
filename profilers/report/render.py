"""A report as Markdown (the tables pLM papers print), CSV (one row per Result with what the report
picked it for) or JSON."""

from __future__ import annotations

import csv
import io
from typing import Any

from engines.errors import InvalidInputError
from profilers.export import COLUMNS, format_value, markdown_table, summary_row
from profilers.files import dumps
from profilers.report.analysis import ModelReport
from profilers.report.build import Report
from profilers.report.performance import (
    DEFAULT_SORT,
    SORT_KEYS,
    SortKey,
    performance_table,
    sort_key,
)
from profilers.report.rows import Row
from profilers.report.training import training_markdown

REPORT_FORMATS = ("md", "csv", "json")


def times(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _figure_row(row: Row) -> list[Any]:
    return [
        row.sequences_per_s,
        row.p50_ms,
        row.p99_ms,
        row.peak_memory_mb,
        row.useful_mfu_pct,
        row.joules_per_sequence,
        row.usd_per_million,
    ]


FIGURE_HEADERS = ["seq/s", "p50 ms", "p99 ms", "peak mem MB", "MFU %", "J/seq", "$/1M seq"]


def _model_markdown(model: ModelReport) -> str:
    out = [f"## {model.model}\n"]
    if not model.rows:
        return out[0] + "\nNo point of this model ended ok.\n"
    out.append("### Real-time (batch 1) and throughput-optimized settings\n")
    table = []
    for pair in model.pairs:
        for label, row in (("real-time", pair.realtime), ("throughput", pair.throughput)):
            if row is not None:
                table.append([label, pair.config, row.batching, *_figure_row(row)])
    out.append(markdown_table(["setting", "configuration", "batch", *FIGURE_HEADERS], table))
    if len(model.hardware) > 1:
        out.append("\n### By hardware\n")
        table = []
        for group in model.hardware:
            fast, quick = group.best_throughput, group.best_latency
            table.append(
                [
                    group.hardware,
                    len(group.rows),
                    f"{format_value(fast.sequences_per_s)} ({fast.config}, {fast.batching})"
                    if fast
                    else "–",
                    f"{format_value(quick.p50_ms)} ({quick.config}, {quick.batching})"
                    if quick
                    else "–",
                ]
            )
        headers = ["hardware", "ok results", "best seq/s (configuration, batch)", "best p50 ms"]
        out.append(markdown_table(headers, table))
    out.append("\n### Best configuration\n")
    goals = (
        ("throughput", model.best_throughput, lambda r: r.sequences_per_s, "seq/s"),
        ("latency (p50)", model.best_latency, lambda r: r.p50_ms, "ms"),
        ("cost", model.best_cost, lambda r: r.usd_per_million, "USD per 1M sequences"),
    )
    best_rows = []
    for goal, row, value, unit in goals:
        if row is None:
            reason = "no price known" if goal == "cost" else "not measured"
            best_rows.append([goal, "–", "–", reason])
        else:
            best_rows.append([goal, row.config, row.batching, f"{format_value(value(row))} {unit}"])
    out.append(markdown_table(["best for", "configuration", "batch", "figure"], best_rows))
    out.append("\n### Pareto front: latency against throughput (and memory)\n")
    front = [
        [
            r.config,
            r.batching,
            r.p50_ms,
            r.sequences_per_s,
            r.peak_memory_mb,
            "yes" if r in model.pareto_2d else "with memory only",
        ]
        for r in model.pareto
    ]
    out.append(
        markdown_table(
            ["configuration", "batch", "p50 ms", "seq/s", "peak mem MB", "latency–throughput"],
            front,
        )
    )
    out.append("\n### Speed-ups against the fp32 baseline\n")
    if model.speedups:
        rows = [
            [
                s.row.config,
                s.row.batching,
                s.baseline.config,
                s.row.sequences_per_s,
                s.baseline.sequences_per_s,
                times(s.throughput_x),
                times(s.latency_x),
                times(s.memory_x),
                s.cosine_min,
            ]
            for s in model.speedups
        ]
        out.append(
            markdown_table(
                [
                    "configuration",
                    "batch",
                    "baseline",
                    "seq/s",
                    "baseline seq/s",
                    "throughput ×",
                    "p50 ×",
                    "memory ×",
                    "cosine min",
                ],
                rows,
            )
        )
        out.append(
            "\nThroughput × = seq/s ÷ baseline seq/s; p50 × = baseline p50 ÷ p50 (above 1 is "
            "faster); memory × = peak memory ÷ baseline's; cosine min: quality drift against the "
            "fp32 reference (– when not measured).\n"
        )
    else:
        out.append(
            "No optimized point has a measured fp32 baseline (same model, device and batch; "
            "fp32, no int8, pruning or compile).\n"
        )
    return "\n".join(out)


def to_markdown(report: Report, sort: SortKey = SORT_KEYS[DEFAULT_SORT]) -> str:
    ok = sum(r.ok for r in report.rows)
    lines = [
        "# plmprof benchmark report\n",
        f"{len(report.rows)} results from `{report.source}`: {ok} ok, {len(report.failed)} "
        f"failed or stopped; {len(report.skipped)} grid points not run.\n",
        "## Setup\n",
        markdown_table(["", ""], [list(pair) for pair in report.setup]),
    ]
    for model in report.models:
        lines.append(_model_markdown(model))
    if report.training:
        lines.append(training_markdown(report.training, markdown_table))
    if report.max_batch:
        lines.append("## Largest batch that fits\n")
        rows = [
            [
                s.get("model"),
                s.get("device"),
                s.get("largest_ok"),
                s.get("smallest_too_big"),
                s.get("memory_limit_mb") or "device memory",
                "; ".join(filter(None, (s.get("note"), s.get("stopped")))),
            ]
            for s in report.max_batch
        ]
        headers = ["model", "device", "largest ok", "smallest oom", "memory cap MB", "note"]
        lines.append(markdown_table(headers, rows))
    headers, cells = performance_table(report.rows, sort)
    if cells:
        lines.append("## Performance table\n")
        lines.append(
            "The columns of the AWS Neuron performance tables, one row per run that ended ok, "
            f"{sort.order} (runs without {sort.missing} last, fastest first). "
            "One inference is one sequence; costs in USD at the price in Setup; latency is per "
            "batch; Real Time = batch 1.\n"
        )
        lines.append(markdown_table(headers, cells))
    if report.rows:
        lines.append("## All results\n")
        shown = [(n, h) for n, h, _ in COLUMNS if n not in ("run_id", "message")]
        table = []
        for name, result in report.results:
            row = summary_row(result)
            table.append([name, *(row[n] for n, _ in shown)])
        lines.append(markdown_table(["file", *(h for _, h in shown)], table))
    problems = [[r.file, r.status, r.message or ""] for r in report.failed]
    problems += [[s["point"], s["status"], s.get("reason") or ""] for s in report.skipped]
    problems += [[f, "unreadable", why] for f, why in report.unreadable]
    if problems:
        lines.append("## Failed, stopped and skipped points\n")
        lines.append(markdown_table(["point", "status", "reason"], problems))
    if report.plots:
        lines.append("## Plots\n")
        lines.extend(f"![{title}]({path})\n" for title, path in report.plots)
    return "\n".join(lines)


CSV_FIELDS = (
    "file",
    "run_id",
    "status",
    "model",
    "device",
    "device_name",
    "hardware",
    "optimizations",
    "config",
    "workload",
    "batching",
    "batch_size",
    "sequences_per_s",
    "tokens_per_s",
    "residues_per_s",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "peak_memory_mb",
    "memory_kind",
    "useful_mfu_pct",
    "joules_per_sequence",
    "usd_per_million",
    "usd_per_million_residues",
    "cosine_min",
    "framework",
    "instance_type",
    "software",
    "application_type",
    "run_mode",
    "model_details",
    "realtime",
    "throughput_optimized",
    "best_for",
    "pareto",
    "baseline_file",
    "throughput_x",
    "latency_x",
    "memory_x",
    "message",
)


def to_csv(report: Report) -> str:
    """One row per Result with the report's figures and what the report picked it for."""
    flags: dict[str, dict[str, Any]] = {r.file: {} for r in report.rows}
    for model in report.models:
        for pair in model.pairs:
            if pair.realtime is not None:
                flags[pair.realtime.file]["realtime"] = True
            if pair.throughput is not None:
                flags[pair.throughput.file]["throughput_optimized"] = True
        for goal, row in (
            ("throughput", model.best_throughput),
            ("latency", model.best_latency),
            ("cost", model.best_cost),
        ):
            if row is not None:
                entry = flags[row.file]
                entry["best_for"] = ";".join(filter(None, [entry.get("best_for"), goal]))
        for row in model.pareto:
            flags[row.file]["pareto"] = "latency-throughput" if row in model.pareto_2d else "memory"
        for s in model.speedups:
            flags[s.row.file].update(
                baseline_file=s.baseline.file,
                throughput_x=s.throughput_x,
                latency_x=s.latency_x,
                memory_x=s.memory_x,
            )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(CSV_FIELDS), extrasaction="ignore")
    writer.writeheader()
    for row in report.rows:
        data = {**row.to_dict(), "realtime": False, "throughput_optimized": False}
        writer.writerow({**data, **flags[row.file]})
    return buffer.getvalue()


def render_report(report: Report, fmt: str, sort: str = DEFAULT_SORT) -> str:
    """``report`` as ``fmt``; ``sort``: the order of the Markdown performance table."""
    if fmt not in REPORT_FORMATS:
        raise InvalidInputError(f"report format '{fmt}' is not one of {', '.join(REPORT_FORMATS)}")
    key = sort_key(sort)
    if fmt == "json":
        return dumps(report.to_dict(), indent=2) + "\n"
    return to_csv(report) if fmt == "csv" else to_markdown(report, key)
