"""Short words for how a run grouped its sequences, shared by summaries, live views and reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def batching_label(spec: Mapping[str, Any]) -> str:
    """``batch 8``, ``budget 4096 tok``, ``batch 8 · buckets 128,256`` or ``packed 4096 tok``
    (``packed 8×longest`` when packing without a token budget)."""
    budget = spec.get("token_budget")
    if spec.get("packing"):
        return f"packed {budget} tok" if budget else f"packed {spec.get('batch_size')}×longest"
    if budget:
        return f"budget {budget} tok"
    label = f"batch {spec.get('batch_size')}"
    if spec.get("buckets"):
        label += " · buckets " + ",".join(str(b) for b in spec["buckets"])
    return label
