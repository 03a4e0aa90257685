"""Optimizations through the real Session: spawned worker, Result sections, clean stderr."""

from __future__ import annotations

import pytest

from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.session import Session

pytestmark = pytest.mark.e2e


def test_int8_pruned_run_with_quality_check(capfd: pytest.CaptureFixture[str]) -> None:
    spec = RunSpec(
        model="esm2_t6_8M",
        seq_len=64,
        batch_size=4,
        duration_s=0.5,
        min_iters=3,
        warmup=1,
        int8="dynamic",
        prune_layers=2,
        prune="unstructured:0.3",
        quality=True,
    )
    result = Session(spec, MeasureOptions(telemetry=False)).run()
    assert result.status == "ok", result.message
    assert result.model is not None
    applied = result.model["optimizations"]
    assert applied["int8"]["layers"] == 4 * 6  # 4 layers left, 6 Linear layers each
    assert applied["pruning"]["layers"]["layers_after"] == 4
    assert abs(applied["pruning"]["unstructured"]["achieved_sparsity"] - 0.3) <= 0.01
    # 4 layers of d=320: N = 4 x 12 x 320^2; 66 tokens per sequence
    assert result.model["linear_parameters"] == 4 * 12 * 320**2
    assert result.efficiency is not None
    assert result.efficiency["flops_per_sequence_mean"] == 2 * 4_915_200 * 66 + 4 * 4 * 320 * 66**2
    assert result.quality is not None
    assert result.quality["sequences"] == 8
    assert result.quality["warning"] is not None  # two layers gone: the drift is reported
    assert "Warning" not in capfd.readouterr().err
