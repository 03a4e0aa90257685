"""Helpers shared by the Gaudi engine tests (not fixtures)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from engines.messages import WorkerMessage
from engines.spec import RunSpec
from tests.tiny_models import run_spec_in_process, tiny_spec

# Imports the stand-in bridge afresh with PT_HPU_LAZY_MODE set to the value (None: unset).
ImportBridge = Callable[[str | None], ModuleType]


def hpu_spec(**settings: Any) -> RunSpec:
    """The tiny ESM on hpu: 2 sequences of 30 residues (32 tokens) per batch, 4 measured."""
    return tiny_spec(**{"device": "hpu", "max_iters": 4, "min_iters": 4, **settings})


def run_on_hpu(
    monkeypatch: pytest.MonkeyPatch, spec: RunSpec, device: str = "hpu"
) -> list[WorkerMessage]:
    """The real worker loop, in this process, against whatever bridge is importable."""
    return run_spec_in_process(monkeypatch, spec, device)
