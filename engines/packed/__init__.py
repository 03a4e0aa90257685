"""Packed (unpadded) inference: sequence packing and variable-length attention for ESM and
BERT encoders.

See ``docs/gpu_fast_path.md``. Entry points live in :mod:`engines.packed.api`.
"""

from engines.packed.api import (
    ATTENTIONS,
    PackedFeeder,
    PackedRunner,
    PackedTensors,
    packed_support,
    packed_tensors,
)
from engines.packed.pack import PackedBatch, PackingSummary, plan_packing, summarize

__all__ = [
    "ATTENTIONS",
    "PackedBatch",
    "PackedFeeder",
    "PackedRunner",
    "PackedTensors",
    "PackingSummary",
    "packed_support",
    "packed_tensors",
    "plan_packing",
    "summarize",
]
