"""Puts the pyhlml STAND-IN (tests/standins/pyhlml) in place for one test."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

STANDINS = Path(__file__).resolve().parents[1] / "standins"
GAUDI_DATA = Path(__file__).resolve().parents[1] / "data" / "gaudi"


def use_pyhlml(
    monkeypatch: pytest.MonkeyPatch, present: bool, cards: list[Any] | None = None
) -> ModuleType:
    """Import the stand-in as ``pyhlml`` with libhlml ``present`` or not, holding ``cards``
    (the stand-in's ``Card`` records)."""
    spec = importlib.util.spec_from_file_location("pyhlml", STANDINS / "pyhlml" / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "pyhlml", module)  # the real one (or none) comes back after
    spec.loader.exec_module(module)
    module.reset(present, cards)
    return module


def no_hl_smi(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sure no real hl-smi is found on PATH."""
    monkeypatch.setattr("profilers.telemetry.hl_smi.shutil.which", lambda name: None)
