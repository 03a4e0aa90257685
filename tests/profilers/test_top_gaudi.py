"""``plmprof top`` with Gaudi cards: a recorded hl-smi file replayed, HLML through the pyhlml
STAND-IN, and the reason when there is neither."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from gaudi_standins import GAUDI_DATA, no_hl_smi, use_pyhlml
from rich.console import Console

from profilers.top import TopMonitor
from tui.cli import invoke
from tui.render.top import render_top

pytestmark = pytest.mark.hpu

REPLAY = GAUDI_DATA / "hl-smi-gaudi2.csv"


def _text(renderable: Any) -> str:
    console = Console(file=io.StringIO(), width=160, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def _top(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = invoke(["top", "--interval", "0.05", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def test_replayed_hl_smi_refreshes_in_order() -> None:
    with TopMonitor(0.05, hl_smi_replay=REPLAY) as top:
        utilisation = [top.snapshot().sample.hpus[0].utilization_pct for _ in range(4)]
        state = top.snapshot().sources["hpu"]
    assert utilisation == [0.0, 87.0, 91.0, 0.0]
    assert state.available and state.mode == "replay" and state.replay_file == str(REPLAY)


def test_the_view_draws_each_card() -> None:
    with TopMonitor(0.05, hl_smi_replay=REPLAY) as top:
        top.snapshot()
        text = _text(render_top(top.snapshot(), header=False))
    assert f"Intel Gaudi (replay {REPLAY})" in text
    (row,) = [line for line in text.splitlines() if "HL-225" in line and " 87%" in line]
    assert "25.8 GB / 103 GB" in row and "412 W" in row and "41.0 °C" in row
    assert row.split()[:2] == ["0", "3"]  # card index, module id


def test_once_json_with_an_hl_smi_replay(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _top(capsys, "--once", "--json", "--hl-smi-replay", str(REPLAY))
    assert code == 0
    (line,) = out.splitlines()
    data = json.loads(line)
    assert [card["module_id"] for card in data["hpus"]] == [3, 2]
    assert data["hpus"][0]["memory_total_bytes"] == 98304 * 2**20
    assert data["sources"]["hpu"]["mode"] == "replay"


def test_hlml_cards_in_top(monkeypatch: pytest.MonkeyPatch) -> None:
    hlml = use_pyhlml(monkeypatch, True)
    hlml.reset(True, [hlml.Card(aip=55, energy_mj=3_600_000, power_mw=300_000, module_id=1)])
    with TopMonitor(0.05) as top:
        snapshot = top.snapshot()
    assert snapshot.sources["hpu"].mode == "hlml"
    text = _text(render_top(snapshot, header=False))
    assert "Intel Gaudi (hlml)" in text and "3.60 kJ" in text and "300 W" in text


def test_json_stays_pure_when_libhlml_is_missing(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """pyhlml prints "Failed to load libhlml" to stdout: it must not land in plmprof's JSON."""
    use_pyhlml(monkeypatch, False)
    no_hl_smi(monkeypatch)
    code = invoke(["top", "--interval", "0.05", "--once", "--json"])
    out = capfd.readouterr().out
    assert code == 0
    (line,) = out.splitlines()
    data = json.loads(line)
    assert data["hpus"] == [] and data["sources"]["hpu"]["available"] is False
    assert data["sources"]["hpu"]["reason"].startswith(
        "Gaudi telemetry not available: HLML not available: Failed to load libhlml"
    )


def test_a_bad_replay_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    code, _, err = _top(capsys, "--once", "--hl-smi-replay", "/nonexistent/capture.csv")
    assert code == 2 and "hl-smi replay file '/nonexistent/capture.csv' does not exist" in err
    short = tmp_path / "short.csv"
    short.write_text("0, 3, HL-225\n")
    code, _, err = _top(capsys, "--once", "--hl-smi-replay", str(short))
    assert code == 2 and "line 1: 3 fields, expected 9" in " ".join(err.split())
