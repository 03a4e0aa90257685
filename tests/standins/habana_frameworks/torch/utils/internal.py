"""STAND-IN for habana_frameworks.torch.utils.internal: ``is_lazy``."""

from __future__ import annotations

from habana_frameworks.torch._state import STATE


def is_lazy() -> bool:
    return STATE.lazy
