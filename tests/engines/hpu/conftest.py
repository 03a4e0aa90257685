"""Fixtures for the Gaudi engine tests: the habana_frameworks STAND-IN imported in a chosen mode,
the worker's clock tied to the stand-in's device clock, and tensors kept on the CPU."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from hpu_helpers import ImportBridge

from tests.tiny_models import register

STANDINS = str(Path(__file__).resolve().parents[2] / "standins")


@pytest.fixture(autouse=True)
def tiny_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    register(monkeypatch)


def _forget_bridge() -> None:
    for name in [m for m in sys.modules if m == "habana_frameworks" or m.startswith("habana_fr")]:
        del sys.modules[name]


@pytest.fixture
def import_standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[ImportBridge]:
    """``import_standin("1")`` imports the stand-in bridge afresh with PT_HPU_LAZY_MODE=1 (None:
    unset) and returns its state module; the device clock becomes the worker's host clock."""
    monkeypatch.syspath_prepend(STANDINS)
    monkeypatch.setattr("engines.backends.hpu.device.HPU_TORCH_DEVICE", "cpu")
    imported: list[ModuleType] = []

    def load(mode: str | None) -> ModuleType:
        _forget_bridge()
        if mode is None:
            monkeypatch.delenv("PT_HPU_LAZY_MODE", raising=False)
        else:
            monkeypatch.setenv("PT_HPU_LAZY_MODE", mode)
        importlib.import_module("habana_frameworks.torch")
        state = importlib.import_module("habana_frameworks.torch._state")
        imported.append(state)
        clock = SimpleNamespace(monotonic=state.STATE.clock.monotonic)
        monkeypatch.setattr("engines.runner.time", clock)
        return state

    yield load
    for state in imported:
        state.uninstall()
    _forget_bridge()
