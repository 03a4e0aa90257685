"""``plmprof compare A.json B.json``: two Results side by side; with ``--fail-if-slower`` a
performance guard for CI (exit 1 when B regressed past the threshold)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engines.errors import InvalidInputError
from profilers.compare import GATE_METRICS, compare, gate
from profilers.export import format_value
from profilers.report import read_result
from tui.widgets.units import NA

EXIT_OK, EXIT_REGRESSED = 0, 1
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")


def parse_percent(text: str) -> float:
    """``"5%"`` or ``"5"`` as 5.0 (percent)."""
    match = _PERCENT.match(text)
    if match is None:
        raise InvalidInputError(f"--fail-if-slower '{text}' is not a percentage; write e.g. 5%")
    return float(match.group(1))


def _text(value: Any) -> str:
    return format_value(value) if not isinstance(value, list) else ",".join(map(str, value))


def execute_compare(
    a_path: Path,
    b_path: Path,
    metric: str,
    fail_if_slower: str | None,
    out: Console,
    err: Console,
    strict_samples: bool = False,
) -> int:
    if metric not in GATE_METRICS:
        raise InvalidInputError(f"--metric '{metric}' is not one of {', '.join(GATE_METRICS)}")
    threshold = parse_percent(fail_if_slower) if fail_if_slower is not None else None
    a, b = read_result(a_path), read_result(b_path)
    comparison = compare(a, b)
    verdict = gate(a, b, metric, threshold, strict_samples)
    out.print(f"A: {a_path} ({a.status})\nB: {b_path} ({b.status})", markup=False, highlight=False)
    table = Table()
    for name, justify in (
        ("metric", "left"),
        ("A", "right"),
        ("B", "right"),
        ("B/A", "right"),
        ("change", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for line in comparison.lines:
        change = line.change_pct
        style = {True: "green", False: "red", None: ""}[line.better]
        table.add_row(
            f"{line.metric.label} ({line.metric.unit})",
            format_value(line.a),
            format_value(line.b),
            NA if line.ratio is None else f"{line.ratio:.3f}",
            NA if change is None else f"[{style}]{change:+.1f}%[/]" if style else f"{change:+.1f}%",
        )
    out.print(table)
    for title, differences in (
        ("settings differ", comparison.spec_differences),
        ("environment differs", comparison.environment_differences),
    ):
        if differences:
            shown = "; ".join(f"{k}: {_text(x)} → {_text(y)}" for k, x, y in differences)
            out.print(f"{title}: {shown}", markup=False, highlight=False)
    if verdict.regressed:
        err.print(f"[bold red]regression[/]: {escape(verdict.message)}", highlight=False)
        return EXIT_REGRESSED
    out.print(verdict.message, markup=False, highlight=False)
    return EXIT_OK
