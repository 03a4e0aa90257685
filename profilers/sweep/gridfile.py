"""Grid settings from files and several sources: a TOML (or YAML) grid file, and the merge of a
saved grid, a file and flags, later sources winning."""

from __future__ import annotations

import importlib.util
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engines.errors import InvalidInputError
from profilers.sweep.grid import SweepGrid, canonical_name
from profilers.sweep.store import SWEEP_FILE, load_sweep_grid

# Tables a grid file may group its settings in (they are read as if at the top level).
FILE_TABLES = ("sweep", "grid", "run", "measure")


def read_grid_file(path: Path) -> dict[str, Any]:
    """Settings from a TOML grid file (YAML too when pyyaml is installed)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(f"grid file '{path}' does not exist") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read grid file '{path}': {exc.strerror or exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        data = _read_yaml(path, raw)
    else:
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInputError(f"grid file '{path}' is not valid TOML: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"grid file '{path}' does not hold a table of settings")
    settings: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for key, value in data.items():
        items: list[tuple[Any, Any]] = [(key, value)]
        if isinstance(value, dict):
            if str(key).lower() not in FILE_TABLES:
                raise InvalidInputError(
                    f"grid file '{path}': table '{key}' is not a known table "
                    f"(use {', '.join(FILE_TABLES)} or top-level settings)"
                )
            items = list(value.items())
        for name, item in items:
            field = canonical_name(str(name))
            if field in seen:
                raise InvalidInputError(
                    f"grid file '{path}': '{name}' and '{seen[field]}' set the same thing"
                    if seen[field] != name
                    else f"grid file '{path}': '{name}' is given twice"
                )
            seen[field] = str(name)
            settings[str(name)] = item
    return settings


def _read_yaml(path: Path, raw: bytes) -> Any:
    if importlib.util.find_spec("yaml") is None:
        raise InvalidInputError(
            f"grid file '{path}' is YAML, which needs pyyaml (pip install pyyaml); "
            "or write the grid as TOML"
        )
    import yaml

    try:
        return yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInputError(f"grid file '{path}' is not valid YAML: {exc}") from None


def merge_settings(*sources: Mapping[str, Any]) -> dict[str, Any]:
    """Settings from several sources, later ones winning where two name the same field; each
    keeps the name it was given by, so that errors quote the user's own words."""
    merged: dict[str, tuple[str, Any]] = {}
    for source in sources:
        for name, value in source.items():
            merged[canonical_name(name)] = (name, value)
    return dict(merged.values())


def grid_from_sources(
    given: Mapping[str, Any], grid_file: Path | None, resume_folder: Path | None
) -> SweepGrid:
    """The grid of ``given`` settings (flags) over a grid file over the grid saved in
    ``resume_folder`` (when resuming a sweep that saved one)."""
    base: dict[str, Any] = {}
    from_file = read_grid_file(grid_file) if grid_file is not None else {}
    saved = resume_folder is not None and (resume_folder / SWEEP_FILE).exists()
    if resume_folder is not None and (saved or not (from_file or given)):
        base = load_sweep_grid(resume_folder).to_settings()  # says why when nothing is saved
    if not (base or from_file or given):
        raise InvalidInputError(
            "give the grid: flags such as --models, --dtypes, --batch-sizes, or --grid FILE.toml"
        )
    return SweepGrid.from_settings(merge_settings(base, from_file, given))
