"""Gaudi telemetry: hl-smi CSV (recorded fixtures, a fake live hl-smi), HLML through the pyhlml
STAND-IN, source selection, and pyhlml's print kept off standard output."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from gaudi_standins import GAUDI_DATA, no_hl_smi, use_pyhlml

from engines.errors import InvalidInputError
from profilers.telemetry.gaudi import NoGaudi, gaudi_source
from profilers.telemetry.hl_smi import HlSmiReplay, HlSmiSampler, command, parse_hl_smi_csv
from profilers.telemetry.hlml import HlmlSampler
from profilers.telemetry.monitor import TelemetryMonitor
from profilers.telemetry.samples import HpuSample

pytestmark = pytest.mark.hpu

MIB = 2**20


def test_hl_smi_csv_with_header_and_units() -> None:
    readings = parse_hl_smi_csv((GAUDI_DATA / "hl-smi-gaudi2.csv").read_text())
    assert len(readings) == 3 and all(len(cards) == 2 for cards in readings)
    busy = readings[1][0]
    assert busy == HpuSample(
        index=0,
        module_id=3,
        name="HL-225",
        uuid="01P0-HL2080A0-15-TNDR27-05-07-09",
        utilization_pct=87.0,
        memory_used_bytes=24576 * MIB,
        memory_total_bytes=98304 * MIB,
        power_w=412.0,
        temperature_c=41.0,
        energy_mj=None,
        source="hl-smi",
    )
    assert busy.module == 3


def test_hl_smi_csv_without_header_or_units_reads_the_same() -> None:
    with_header = parse_hl_smi_csv((GAUDI_DATA / "hl-smi-gaudi2.csv").read_text())
    bare = parse_hl_smi_csv((GAUDI_DATA / "hl-smi-gaudi2-noheader.csv").read_text())
    assert bare == with_header


def test_not_available_figures_are_none_and_blank_lines_are_skipped() -> None:
    first, second = parse_hl_smi_csv((GAUDI_DATA / "hl-smi-edge-cases.csv").read_text())
    assert first[0].power_w is None and first[0].temperature_c is None
    assert first[0].uuid is None and first[0].utilization_pct == 12.0
    assert second[0].power_w == 120.0


def test_a_short_row_names_its_line() -> None:
    text = "0, 3, HL-225, x, 10, 512, 98304, 90, 30\n1, 2, HL-225\n"
    with pytest.raises(InvalidInputError, match=r"^replay line 2: 3 fields, expected 9 \(index,"):
        parse_hl_smi_csv(text, "replay")


def test_live_fallback_asks_for_bare_csv() -> None:
    assert command("hl-smi") == [
        "hl-smi",
        "--query-aip=index,module_id,name,uuid,utilization.aip,memory.used,memory.total,"
        "power.draw,temperature.aip",
        "--format=csv,noheader,nounits",
    ]


def _fake_hl_smi(tmp_path: Path, body: str) -> str:
    script = tmp_path / "hl-smi"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_live_hl_smi_is_run_and_parsed(tmp_path: Path) -> None:
    fixture = GAUDI_DATA / "hl-smi-gaudi2-noheader.csv"
    sampler = HlSmiSampler(_fake_hl_smi(tmp_path, f"head -n 2 '{fixture}'"))
    assert sampler.available and sampler.reason is None
    cards = sampler.sample()
    assert [card.module for card in cards] == [3, 2]
    assert cards[0].memory_used_bytes == 512 * MIB


def test_a_failing_hl_smi_is_recorded_by_the_monitor(tmp_path: Path) -> None:
    sampler = HlSmiSampler(_fake_hl_smi(tmp_path, "echo 'no AIP found' >&2; exit 3"))
    monitor = TelemetryMonitor(0.5, hpu=sampler)
    assert monitor.sample_now().hpus == ()
    assert "hl-smi exited with 3: no AIP found" in monitor.reasons()["hpu"]


def test_replay_loops_over_the_recorded_refreshes() -> None:
    replay = HlSmiReplay(GAUDI_DATA / "hl-smi-gaudi2.csv")
    powers = [replay.sample()[0].power_w for _ in range(4)]
    assert powers == [92.0, 412.0, 436.0, 92.0]


@pytest.mark.parametrize(
    ("name", "words"),
    [("missing.csv", "does not exist"), ("empty.csv", "holds no readings")],
)
def test_a_bad_replay_file_is_bad_input(tmp_path: Path, name: str, words: str) -> None:
    (tmp_path / "empty.csv").write_text("\n")
    with pytest.raises(InvalidInputError, match=words):
        HlSmiReplay(tmp_path / name)


def test_hlml_readings_in_their_units(monkeypatch: pytest.MonkeyPatch) -> None:
    hlml = use_pyhlml(monkeypatch, True)
    hlml.reset(
        True,
        [
            hlml.Card(aip=75, used=3 * 2**30, power_mw=412_500, energy_mj=7_200_000, module_id=5),
            hlml.Card(temperature_c=31),
        ],
    )
    sampler = HlmlSampler()
    assert sampler.available and sampler.reason is None
    first, second = sampler.sample()
    assert first.utilization_pct == 75.0 and first.memory_used_bytes == 3 * 2**30
    assert first.power_w == 412.5 and first.energy_mj == 7_200_000 and first.module_id == 5
    assert first.name == "HL-225" and first.source == "hlml"
    assert second.temperature_c == 31.0
    sampler.close()
    assert not hlml.INITIALISED


def test_one_failing_hlml_query_leaves_only_that_figure_empty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hlml = use_pyhlml(monkeypatch, True)
    hlml.reset(True, [hlml.Card(aip=40)])
    hlml.FAILING.add("hlmlDeviceGetTotalEnergyConsumption")
    (card,) = HlmlSampler().sample()
    assert card.energy_mj is None and card.utilization_pct == 40.0


def test_without_libhlml_the_print_stays_off_stdout(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    use_pyhlml(monkeypatch, False)
    sampler = HlmlSampler()
    assert not sampler.available
    assert sampler.reason == "HLML not available: Failed to load libhlml; Lib not initialized"
    assert capfd.readouterr().out == ""


def test_without_pyhlml_the_reason_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "pyhlml", None)
    assert HlmlSampler().reason == (
        "HLML not available: the habana-pyhlml package is not installed "
        "(pip install 'plmprof[gaudi]')"
    )


def test_source_is_hlml_then_hl_smi_then_none_with_both_reasons(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hlml = use_pyhlml(monkeypatch, True)
    hlml.reset(True, [hlml.Card()])
    assert gaudi_source().mode == "hlml"
    hlml.reset(False)
    fake = _fake_hl_smi(tmp_path, "true")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert gaudi_source(hl_smi=fake).mode == "hl-smi"
    no_hl_smi(monkeypatch)
    none = gaudi_source()
    assert isinstance(none, NoGaudi) and none.sample() == ()
    assert none.reason == (
        "Gaudi telemetry not available: HLML not available: Failed to load libhlml; "
        "Lib not initialized; hl-smi not found on PATH"
    )
    assert gaudi_source(GAUDI_DATA / "hl-smi-gaudi2.csv").mode == "replay"


def test_the_real_pyhlml_without_libhlml_prints_nothing_to_stdout(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The real habana-pyhlml (the 'gaudi' extra), where it is installed and libhlml is not."""
    pytest.importorskip("pyhlml", reason="habana-pyhlml (plmprof[gaudi]) not installed")
    if Path("/usr/lib/habanalabs/libhlml.so").exists():
        pytest.skip("libhlml is installed here: HLML initialises for real")
    sampler = HlmlSampler()
    assert not sampler.available
    assert (sampler.reason or "").startswith("HLML not available: Failed to load libhlml")
    captured = capfd.readouterr()
    assert captured.out == "" and "Deprecat" not in captured.err
