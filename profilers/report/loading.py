"""Loading a folder of saved Results (and a sweep's side files) for a report. A file that is not
a readable Result is listed with the reason, never fatal; a Result with damaged figures is read
with those figures missing and a note (``Result.repair``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.errors import InvalidInputError, PlmprofError
from profilers.files import read_text
from profilers.layout import MAX_BATCH_FILE, MAX_BATCH_KIND, PROBES_FOLDER, SWEEP_FILE, SWEEP_KIND
from profilers.result import Result, load_result


@dataclass
class LoadedResults:
    """Results read from a folder (``(file name, Result)``, sorted by name), the files that could
    not be read and why, and the sweep and max-batch files when present."""

    folder: Path
    results: list[tuple[str, Result]] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    sweep: dict[str, Any] | None = None
    max_batch: dict[str, Any] | None = None
    probes: list[Result] = field(default_factory=list)  # max-batch probes (for the setup)


def _read_side_file(path: Path, kind: str, loaded: LoadedResults) -> dict[str, Any] | None:
    try:
        data = json.loads(read_text(path))
    except OSError as exc:
        loaded.unreadable.append((path.name, f"cannot read: {exc.strerror or exc}"))
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        loaded.unreadable.append((path.name, f"not JSON: {exc}"))
        return None
    if not isinstance(data, dict) or data.get("kind") != kind:
        loaded.unreadable.append((path.name, f"not a {kind} file"))
        return None
    return data


def read_result(path: str | Path) -> Result:
    """``load_result``, plus a check that the fields the report and comparisons read have the
    right shape: anything else is an ``InvalidInputError`` naming the file."""
    try:
        result = load_result(path)
    except TypeError as exc:
        raise InvalidInputError(f"'{path}' is not a plmprof result ({exc})") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read '{path}': {exc.strerror or exc}") from None
    for name in ("spec", "environment"):
        if not isinstance(getattr(result, name), Mapping):
            raise InvalidInputError(f"'{path}' is not a plmprof result ('{name}' is not a table)")
    for name in ("run_id", "status", "created_at"):
        if not isinstance(getattr(result, name), str):
            raise InvalidInputError(f"'{path}' is not a plmprof result ('{name}' is not text)")
    return result


def load_folder(path: str | Path, *, required: bool = True) -> LoadedResults:
    """Every Result JSON directly in ``path`` (a folder; or one Result file). Files that are not
    Results are listed in ``unreadable`` with the reason, never fatal. With ``required``, a folder
    without any Result (and no max-batch file) is an error."""
    source = Path(path)
    if not source.exists():
        raise InvalidInputError(f"'{source}' does not exist")
    folder = source if source.is_dir() else source.parent
    loaded = LoadedResults(folder)
    files = sorted(source.glob("*.json")) if source.is_dir() else [source]
    for file in files:
        if file.name == SWEEP_FILE:
            loaded.sweep = _read_side_file(file, SWEEP_KIND, loaded)
            continue
        if file.name == MAX_BATCH_FILE:
            loaded.max_batch = _read_side_file(file, MAX_BATCH_KIND, loaded)
            continue
        try:
            loaded.results.append((file.name, read_result(file)))
        except PlmprofError as exc:
            loaded.unreadable.append((file.name, str(exc)))
    if loaded.max_batch is not None and (folder / PROBES_FOLDER).is_dir():
        for file in sorted((folder / PROBES_FOLDER).glob("*.json")):
            try:
                loaded.probes.append(read_result(file))
            except PlmprofError as exc:
                loaded.unreadable.append((f"{PROBES_FOLDER}/{file.name}", str(exc)))
    if required and not loaded.results and loaded.max_batch is None:
        where = f"folder '{source}'" if source.is_dir() else f"'{source}'"
        detail = f" ({len(loaded.unreadable)} unreadable JSON files)" if loaded.unreadable else ""
        raise InvalidInputError(f"no plmprof results in {where}{detail}")
    return loaded
