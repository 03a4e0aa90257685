"""Fixtures for the Neuron engine tests: the torch_neuronx STAND-IN, a private cache, a tiny ESM."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import fake_torch_neuronx
import pytest
import torch
from neuron_helpers import TINY_ID, tiny_info

from engines.catalog import MODELS


@pytest.fixture
def standin() -> Iterator[ModuleType]:
    """The stand-in module, reset; not installed as ``torch_neuronx`` (pass it explicitly)."""
    fake_torch_neuronx.reset()
    yield fake_torch_neuronx
    fake_torch_neuronx.reset()


@pytest.fixture
def standin_installed(standin: ModuleType, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The stand-in importable as ``torch_neuronx`` and a Neuron device that appears present,
    for code paths that import the SDK themselves (the worker loop)."""
    monkeypatch.setitem(sys.modules, "torch_neuronx", standin)
    monkeypatch.setattr(
        "engines.backends.neuron.engine.neuron_device_files", lambda: ["/dev/neuron0"]
    )
    return standin


@pytest.fixture(autouse=True)
def plain_torchscript() -> Iterator[None]:
    """No TorchScript profiling passes: the first calls of a traced module stay fast."""
    with torch.jit.optimized_execution(False):
        yield


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own compile cache, and no NEURON_* variables from the machine."""
    root = tmp_path / "neuron-cache"
    monkeypatch.setenv("PLMPROF_NEURON_CACHE", str(root))
    for name in ("NEURON_RT_VISIBLE_CORES", "NEURON_RT_NUM_CORES", "NEURON_CC_FLAGS"):
        monkeypatch.delenv(name, raising=False)
    return root


@pytest.fixture
def tiny_catalog(monkeypatch: pytest.MonkeyPatch) -> str:
    """Adds a two-layer ESM to the catalog for one test; returns its id."""
    monkeypatch.setitem(MODELS, TINY_ID, tiny_info())
    return TINY_ID
