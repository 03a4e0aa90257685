"""STAND-IN for habana_frameworks.torch.core: ``mark_step`` (lazy mode only)."""

from __future__ import annotations

from habana_frameworks.torch._state import STATE


def mark_step() -> None:
    STATE.mark_step()
