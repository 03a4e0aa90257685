"""On a Gaudi host only: a real run through the session, in lazy and in eager mode.

Skipped everywhere else, with the reason (no bridge, or no habanalabs device). It has not run
yet: no Gaudi machine was reachable when it was written."""

from __future__ import annotations

import pytest

from engines.detect import hpu_status
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.session import Session

USABLE, FOUND = hpu_status()
pytestmark = [pytest.mark.hpu, pytest.mark.skipif(not USABLE, reason=f"no Gaudi here: {FOUND}")]


@pytest.mark.parametrize("mode", ["lazy", "eager"])
def test_small_esm_runs_on_a_gaudi(mode: str) -> None:
    spec = RunSpec(
        model="esm2_t6_8M",
        device="hpu",
        hpu_mode=mode,
        dtype="bf16",
        autocast=True,
        seq_len=62,
        batch_size=4,
        warmup=2,
        min_iters=5,
        max_iters=20,
        duration_s=1.0,
    )
    result = Session(spec, MeasureOptions(telemetry_interval_s=0.2)).run()
    assert result.status == "ok", result.message
    assert result.latency and result.latency["p50"] > 0
    assert result.memory["max_allocated"] and result.memory["max_reserved"] is None
    hpu = result.model["optimizations"]["hpu"]
    assert hpu["mode"] == mode and hpu["graph_compilations_measured"] == 0
