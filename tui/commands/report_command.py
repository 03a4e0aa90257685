"""``plmprof report``: re-render a folder of saved Results as the tables pLM papers print, with
optional PNG plots."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from engines.errors import InvalidInputError
from profilers.files import check_target, write_text
from profilers.report import REPORT_FORMATS, build_report, load_folder, render_report
from profilers.report.performance import DEFAULT_SORT, sort_key


def _plots_folder(results: Path, output: str | None, plots_dir: Path | None) -> Path:
    if plots_dir is not None:
        return plots_dir
    if output not in (None, "-"):
        assert output is not None
        return Path(output).parent / "plots"
    return (results if results.is_dir() else results.parent) / "plots"


def execute_report(
    results_dir: Path,
    export: str,
    output: str | None,
    plots: bool,
    plots_dir: Path | None,
    err: Console,
    force: bool = False,
    sort: str = DEFAULT_SORT,
) -> int:
    if export not in REPORT_FORMATS:  # checked before anything is read
        raise InvalidInputError(f"--export '{export}' is not one of {', '.join(REPORT_FORMATS)}")
    sort_key(sort)
    if output not in (None, "-"):
        assert output is not None
        check_target(Path(output), overwrite=force)
    if plots:
        from profilers.plots import require_matplotlib

        require_matplotlib()
    report = build_report(load_folder(results_dir))
    for name, reason in report.unreadable:
        err.print(f"[yellow]skipped[/] {escape(f'{name}: {reason}')}", highlight=False)
    if plots:
        from profilers.plots import draw_report

        folder = _plots_folder(results_dir, output, plots_dir)
        drawn = draw_report(report, folder, overwrite=force)
        base = Path(output).parent if output not in (None, "-") else Path.cwd()
        assert base is not None
        report.plots = [(d.title, os.path.relpath(d.path, base)) for d in drawn]
        for plot in drawn:
            err.print(f"plot: {plot.path}", highlight=False)
        if not drawn:
            err.print("no plot drawn: no ok result with a fixed batch size", highlight=False)
    text = render_report(report, export, sort)
    if output in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    assert output is not None
    write_text(Path(output), text, overwrite=force)
    err.print(f"wrote {output}", highlight=False)
    return 0
