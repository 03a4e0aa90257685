"""``plmprof devices``: the Intel Gaudi section says what is there and what is missing."""

from __future__ import annotations

import pytest
from gaudi_standins import no_hl_smi, use_pyhlml

from tui.commands.device_report import device_report

pytestmark = pytest.mark.hpu


def _gaudi_rows() -> dict[str, str]:
    return dict(dict(device_report())["Intel Gaudi"])


def test_without_gaudi_both_missing_pieces_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    use_pyhlml(monkeypatch, False)
    no_hl_smi(monkeypatch)
    rows = _gaudi_rows()
    assert rows["PyTorch bridge"] == "Gaudi PyTorch bridge (habana_frameworks.torch) not installed"
    assert rows["telemetry"] == (
        "Gaudi telemetry not available: HLML not available: Failed to load libhlml; "
        "Lib not initialized; hl-smi not found on PATH"
    )


def test_cards_hlml_sees_are_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    hlml = use_pyhlml(monkeypatch, True)
    hlml.reset(True, [hlml.Card(module_id=4, total=128 * 2**30, name=b"HL-325L")])
    rows = _gaudi_rows()
    assert rows["telemetry"] == "hlml"
    assert rows["card 0"] == "HL-325L, module 4, 137 GB"
