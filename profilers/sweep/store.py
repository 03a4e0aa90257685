"""A sweep folder on disk, the one place that knows its layout.

One Result JSON per point (``<slug>-<hash>.json``), ``sweep.json`` (the grid and every point with
its status, file or reason), ``sweep.csv`` and ``report.md``, rewritten after every point so a
stopped sweep can resume; a max-batch search writes ``max-batch.json`` and its probe Results under
``probes/``. Every file is written atomically: a crash never leaves half a file.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engines.errors import InvalidInputError, PlmprofError
from engines.messages import Status
from profilers.export import COLUMNS, summary_row
from profilers.layout import REPORT_FILE, SWEEP_CSV, SWEEP_FILE, SWEEP_KIND
from profilers.report import build_report, load_folder, read_result, render_report
from profilers.result import Result
from profilers.sweep.grid import SweepGrid
from profilers.sweep.points import SweepPoint

SWEEP_SCHEMA_VERSION = "1.0"


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` so that a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8", newline=""
    ) as handle:
        handle.write(text)
    os.replace(handle.name, path)
    return path


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def figures(result: Result) -> dict[str, Any]:
    """The few figures a point keeps in ``sweep.json`` and the progress display shows."""
    row = summary_row(result)
    return {k: row[k] for k in ("sequences_per_s", "p50_ms", "p99_ms", "max_ram_mb")}


def prepare_folder(folder: Path, resume: bool) -> None:
    """Make ``folder`` for a new sweep, or accept it for ``resume``. A folder that already holds
    files is never written into without ``resume`` (nothing a user made is overwritten)."""
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"'{folder}' exists and is not a folder; pick another --output")
    if folder.is_dir() and any(folder.iterdir()) and not resume:
        raise InvalidInputError(
            f"'{folder}' is not empty; add --resume to continue the sweep there, "
            "or pick a new --output"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot make the sweep folder '{folder}': {exc}") from None


def _free_name(path: Path, tag: str, suffix: str) -> Path:
    """``<stem>.<tag><suffix>`` beside ``path``, numbered when that name is taken."""
    for n in itertools.count(1):
        name = tag if n == 1 else f"{tag}-{n}"
        target = path.with_name(f"{path.stem}.{name}{suffix}")
        if not target.exists():
            return target
    raise AssertionError("unreachable")  # pragma: no cover


def reuse_existing(folder: Path, point: SweepPoint) -> bool:
    """On resume: take the point's saved Result when it exists and was not interrupted. An
    interrupted Result is renamed (``<key>.interrupted-<run id>.json``, still a Result the report
    lists) and an unreadable file is renamed ``<key>.unreadable…``; either way the point runs."""
    assert point.file is not None
    path = folder / point.file
    if not path.exists():
        return False
    try:
        result = read_result(path)
    except PlmprofError:
        os.replace(path, _free_name(path, "unreadable", ".json-unreadable"))
        return False
    if result.status == Status.INTERRUPTED:
        os.replace(path, _free_name(path, f"interrupted-{result.run_id}", ".json"))
        return False
    point.status, point.run_id, point.resumed = result.status, result.run_id, True
    point.reason = result.message
    point.figures = figures(result)
    return True


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"cannot read '{path}': {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"'{path}' is not a plmprof sweep file")
    return data


def saved_created_at(folder: Path) -> str | None:
    """When the sweep saved in ``folder`` began, if one is saved there."""
    previous = folder / SWEEP_FILE
    if not previous.exists():
        return None
    return str(read_json(previous).get("created_at") or "") or None


def load_sweep_grid(folder: Path) -> SweepGrid:
    """The grid saved in ``folder/sweep.json`` (to resume without repeating the flags)."""
    path = Path(folder) / SWEEP_FILE
    if not path.exists():
        raise InvalidInputError(
            f"no {SWEEP_FILE} in '{folder}' to resume from; give the grid (flags or --grid) again"
        )
    data = read_json(path)
    if data.get("kind") != SWEEP_KIND or "grid" not in data:
        raise InvalidInputError(f"'{path}' is not a plmprof sweep file")
    return SweepGrid.from_dict(data["grid"])


def skipped_entries(points: Sequence[SweepPoint]) -> list[dict[str, Any]]:
    return [
        {"index": p.index, "settings": p.to_dict()["settings"], "reason": p.reason} for p in points
    ]


def save_sweep(folder: Path, data: Mapping[str, Any], points: Sequence[SweepPoint]) -> None:
    """Write ``sweep.json`` (``data``), ``sweep.csv`` and ``report.md`` (atomically, each)."""
    write_text_atomic(folder / SWEEP_FILE, json.dumps(data, indent=2) + "\n")
    write_text_atomic(folder / SWEEP_CSV, sweep_csv(points, _saved_results(folder, points)))
    loaded = load_folder(folder, required=False)
    if loaded.results:
        report = build_report(loaded)
        write_text_atomic(folder / REPORT_FILE, render_report(report, "md"))


def _saved_results(folder: Path, points: Sequence[SweepPoint]) -> dict[str, Result]:
    results = {}
    for point in points:
        if point.file and point.run_id and (folder / point.file).exists():
            try:
                results[point.file] = read_result(folder / point.file)
            except PlmprofError:
                continue
    return results


def sweep_csv(points: Sequence[SweepPoint], results: Mapping[str, Result]) -> str:
    """One row per grid point, skipped ones included, with the summary figures."""
    buffer = io.StringIO()
    names = [name for name, _, _ in COLUMNS if name not in ("status", "message")]
    writer = csv.DictWriter(buffer, fieldnames=["point", "key", "status", "reason", "file", *names])
    writer.writeheader()
    for point in points:
        result = results.get(point.file or "")
        row = summary_row(result) if result is not None else {}
        writer.writerow(
            {
                "point": point.index,
                "key": point.key,
                "status": point.status,
                "reason": point.reason,
                "file": point.file if result is not None else None,
                **{n: row.get(n) for n in names},
            }
        )
    return buffer.getvalue()
