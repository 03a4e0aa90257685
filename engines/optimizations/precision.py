"""Precision: weights cast to fp32/fp16/bf16, or fp32 weights under ``torch.autocast``.

The two are separate choices: ``--dtype bf16`` casts every weight (``Module.to``); ``--dtype bf16
--autocast`` keeps fp32 weights and lets autocast run matmuls in bf16 while norms and softmax stay
fp32. On CPUs without bf16/fp16 matrix units either can be much slower than fp32: measured, never
assumed faster.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from engines.backends.torch_device import TORCH_DTYPES
from engines.spec import RunSpec


def weights_dtype(spec: RunSpec) -> torch.dtype:
    """The dtype the weights are built in: fp32 under autocast, else ``--dtype``."""
    return torch.float32 if spec.autocast else TORCH_DTYPES[spec.dtype]


def autocast_context(spec: RunSpec, device_type: str) -> contextlib.AbstractContextManager[Any]:
    """``torch.autocast`` to ``--dtype`` when asked, else a context that does nothing."""
    if not spec.autocast or spec.dtype == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type, dtype=TORCH_DTYPES[spec.dtype])


def describe(spec: RunSpec) -> dict[str, Any]:
    if spec.autocast:
        return {
            "dtype": spec.dtype,
            "weights": "fp32",
            "autocast": True,
            "implementation": f"torch.autocast(dtype={spec.dtype}) over fp32 weights",
        }
    return {
        "dtype": spec.dtype,
        "weights": spec.dtype,
        "autocast": False,
        "implementation": "weights cast with Module.to(dtype)"
        if spec.dtype != "fp32"
        else "fp32 weights",
    }
