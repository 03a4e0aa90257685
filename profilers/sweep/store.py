"""A sweep folder on disk, the one place that knows its layout.

One Result JSON per point (``<slug>-<hash>.json``), ``sweep.json`` (the grid and every point with
its status, file or reason), ``sweep.csv`` and ``report.md``, rewritten after every point so a
stopped sweep can resume; a max-batch search writes ``max-batch.json`` and its probe Results under
``probes/``. Every file is written atomically: a crash never leaves half a file. One process at
a time writes a folder (``FolderLock``).
"""

from __future__ import annotations

import csv
import fcntl
import io
import itertools
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engines.errors import InvalidInputError, PlmprofError
from engines.messages import Status
from profilers.export import COLUMNS, summary_row
from profilers.files import check_folder, dumps, read_text, write_text
from profilers.layout import REPORT_FILE, SWEEP_CSV, SWEEP_FILE, SWEEP_KIND
from profilers.report import build_report, load_folder, read_result, render_report
from profilers.result import Result
from profilers.sweep.grid import SweepGrid
from profilers.sweep.points import SweepPoint

SWEEP_SCHEMA_VERSION = "1.0"
LOCK_FILE = ".plmprof-sweep.lock"
# Where --accept-changes moves the Results of settings a resumed sweep no longer has.
SUPERSEDED_FOLDER = "superseded"


def write_text_atomic(path: Path, text: str) -> Path:
    """Write one of the files the sweep keeps up to date (``sweep.json``…) by plmprof's file
    policy (``profilers.files``): replaced atomically, never through a symbolic link."""
    return write_text(path, text, overwrite=True)


class FolderLock:
    """Exclusive use of a sweep folder for one plmprof process (``flock`` on
    ``.plmprof-sweep.lock``, released when the process ends however it ends). A second writer is
    refused, naming the process that holds the folder."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_FILE
        self._handle: int | None = None

    def acquire(self) -> FolderLock:
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 200, 0).decode("utf-8", errors="replace").strip()
            os.close(handle)
            raise InvalidInputError(
                f"the sweep folder '{self.path.parent}' is in use by another plmprof "
                f"({holder or 'a process'}); wait for it to end, or use another --output"
            ) from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"pid {os.getpid()} since {now()}\n".encode(), 0)
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            os.close(self._handle)  # closing the descriptor releases the lock
            self._handle = None


def remove_temporaries(folder: Path) -> list[Path]:
    """Temporary files a killed writer left (``.<name>.<random>.tmp``); run under the lock,
    so none of them belongs to a live writer."""
    left = [p for p in Path(folder).glob(".*.tmp") if p.is_file() and not p.is_symlink()]
    for path in left:
        path.unlink()
    return left


def resume_changes(folder: Path, grid: SweepGrid) -> list[str]:
    """What ``grid`` changes from the grid saved in ``folder`` (empty when nothing does), one
    ``setting: saved -> now`` line per setting."""
    if not (Path(folder) / SWEEP_FILE).exists():
        return []
    saved = load_sweep_grid(folder).to_settings()
    now_settings = grid.to_settings()
    lines = []
    for name in sorted(set(saved) | set(now_settings)):
        before, after = saved.get(name, "(default)"), now_settings.get(name, "(default)")
        if before != after:
            lines.append(f"{name}: {_shown(before)} -> {_shown(after)}")
    return lines


def _shown(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def set_aside(folder: Path, points: Sequence[SweepPoint]) -> list[Path]:
    """Move the Results of the saved sweep that no point of ``points`` will use into
    ``superseded/`` (so the report holds one set of settings); returns where they went."""
    path = Path(folder) / SWEEP_FILE
    if not path.exists():
        return []
    kept = {p.file for p in points if p.file}
    moved = []
    for entry in read_json(path).get("points") or []:
        name = entry.get("file") if isinstance(entry, dict) else None
        if not isinstance(name, str) or name in kept or "/" in name or name.startswith("."):
            continue
        source = Path(folder) / name
        if source.is_file() and not source.is_symlink():
            target = Path(folder) / SUPERSEDED_FOLDER / name
            target.parent.mkdir(exist_ok=True)
            os.replace(source, _free_name(target, "old", ".json") if target.exists() else target)
            moved.append(target)
    return moved


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
    if folder.is_dir() and any(p.name != LOCK_FILE for p in folder.iterdir()) and not resume:
        raise InvalidInputError(
            f"'{folder}' is not empty; add --resume to continue the sweep there, "
            "or pick a new --output"
        )
    check_folder(folder, "sweep folder")  # made, and proven writable with room to spare


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
        data = json.loads(read_text(path))
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
    if not Path(folder).is_dir():
        raise InvalidInputError(
            f"'{folder}' does not exist, so there is no sweep to resume; drop --resume to start one"
        )
    if not path.exists():
        raise InvalidInputError(
            f"'{folder}' holds no {SWEEP_FILE} (a sweep writes it as it starts), so there is no "
            "saved grid to resume; give the grid (flags or --grid) with --resume, or drop --resume "
            "and pick a new --output"
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
    write_text_atomic(folder / SWEEP_FILE, dumps(data, indent=2) + "\n")
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
