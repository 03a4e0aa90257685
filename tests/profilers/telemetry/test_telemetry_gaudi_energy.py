"""Energy per sequence on Gaudi (HLML's counter, else sampled power from hl-smi, for the cards the
run was pinned to) and the cards' utilisation over the measured window."""

from __future__ import annotations

import pytest

from engines.spec import RunSpec
from profilers.finalize import hpu_modules
from profilers.options import MeasureOptions
from profilers.session import build_monitor
from profilers.telemetry.energy import energy_between
from profilers.telemetry.host import HostSampler
from profilers.telemetry.samples import HpuSample, TelemetrySample
from profilers.utilization import summarize_utilization

pytestmark = pytest.mark.hpu


def _samples(with_counter: bool, modules: tuple[int, ...] = (3, 2)) -> list[TelemetrySample]:
    """Three samples 1 s apart; module 3 draws 400 W (its counter grows 400 J a second), the
    others 100 W."""
    samples = []
    for second in range(3):
        cards = tuple(
            HpuSample(
                index=i,
                module_id=module,
                power_w=400.0 if module == 3 else 100.0,
                energy_mj=(1_000_000 + second * (400_000 if module == 3 else 100_000))
                if with_counter
                else None,
                source="hlml" if with_counter else "hl-smi",
            )
            for i, module in enumerate(modules)
        )
        samples.append(TelemetrySample(t=10.0 + second, hpus=cards))
    return samples


def test_the_pinned_card_counter_gives_joules_per_sequence() -> None:
    energy = energy_between(_samples(True), 10.5, 11.5, sequences=40, hpu_modules=[3])
    assert energy.method == "hlml-energy-counter"
    assert energy.joules == pytest.approx(400.0)
    assert energy.joules_per_sequence == pytest.approx(10.0)
    assert energy.average_watts == pytest.approx(400.0)


def test_hl_smi_samples_integrate_power() -> None:
    energy = energy_between(_samples(False), 10.5, 11.5, sequences=40, hpu_modules=[2, 3])
    assert energy.method == "hpu-power-integration"
    assert energy.joules == pytest.approx(500.0)
    assert "Gaudi telemetry energy counter: energy counter not available on Gaudi 2" in (
        energy.reason or ""
    )


def test_an_unpinned_worker_counts_the_only_card_but_not_one_of_many() -> None:
    single = energy_between(_samples(True, (3,)), 10.5, 11.5, sequences=4, hpu_modules=[])
    assert single.method == "hlml-energy-counter" and single.joules == pytest.approx(400.0)
    several = energy_between(_samples(True), 10.5, 11.5, sequences=4, hpu_modules=[])
    assert several.method == "none"
    assert "several cards and an unpinned worker (run on hpu:N" in (several.reason or "")


def test_runs_off_gaudi_ignore_gaudi_cards() -> None:
    energy = energy_between(_samples(True), 10.5, 11.5, sequences=4)
    assert energy.method == "none" and "Gaudi" not in (energy.reason or "")


def test_the_modules_a_run_was_pinned_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HABANA_VISIBLE_MODULES", raising=False)
    assert hpu_modules(RunSpec(device="cpu")) is None
    assert hpu_modules(RunSpec(device="hpu")) == []
    assert hpu_modules(RunSpec(device="hpu:3")) == [3]
    assert hpu_modules(RunSpec(device="hpu", workers=2)) == [0, 1]
    monkeypatch.setenv("HABANA_VISIBLE_MODULES", "4,6")
    assert hpu_modules(RunSpec(device="hpu", workers=2)) == [4, 6]


def test_a_gaudi_run_without_telemetry_says_why_in_its_notes(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from gaudi_standins import no_hl_smi, use_pyhlml

    use_pyhlml(monkeypatch, False)
    no_hl_smi(monkeypatch)
    monitor = build_monitor(MeasureOptions(), HostSampler(), gaudi=True)
    assert monitor is not None
    assert monitor.reasons()["hpu"].startswith(
        "Gaudi telemetry not available: HLML not available: Failed to load libhlml"
    )
    assert capfd.readouterr().out == ""  # pyhlml's print never reaches stdout
    monitor.close()


def test_utilisation_per_card_over_the_window() -> None:
    summary = summarize_utilization(_samples(True), 10.5, 12.0)
    assert summary is not None and summary["samples"] == 2
    by_module = {row["index"]: row for row in summary["hpus"]}
    assert by_module[3]["power_w"] == {"mean": 400.0, "max": 400.0}
    assert by_module[2]["power_w"]["mean"] == 100.0
