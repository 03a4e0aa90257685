"""Quiet the prototype warnings of the packed path's CPU backends in every packed test."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _quiet_prototype_warnings() -> Iterator[None]:
    # Eager FlexAttention and CPU jagged SDPA warn that they are unfused / prototype paths.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*flex_attention called without torch.compile")
        warnings.filterwarnings("ignore", message=".*nested tensors is in prototype stage")
        yield
