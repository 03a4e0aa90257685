"""The TUI's device panel draws Gaudi cards from the telemetry sample."""

from __future__ import annotations

import pytest

from profilers.telemetry.samples import HpuSample, TelemetrySample
from tui.widgets.devices import devices_text

pytestmark = pytest.mark.hpu


def test_each_card_gets_its_meters() -> None:
    card = HpuSample(
        index=0,
        module_id=3,
        name="HL-225",
        utilization_pct=87.0,
        memory_used_bytes=24 * 2**30,
        memory_total_bytes=96 * 2**30,
        power_w=412.0,
        temperature_c=41.0,
        source="hl-smi",
    )
    text = devices_text(TelemetrySample(t=0.0, hpus=(card,)), 80).plain
    assert "Gaudi0 HL-225 · module 3 (hl-smi)" in text
    assert "87 %" in text and "25.8/103.1 GB" in text
    assert "power 412 W · 41 °C" in text
