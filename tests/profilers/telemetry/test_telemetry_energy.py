from __future__ import annotations

import json

import pytest

from profilers.telemetry import Energy, GpuSample, TelemetrySample, energy_between


def _samples(
    times: list[float],
    powers: list[list[float | None]],
    energies: list[list[int | None]] | None = None,
) -> list[TelemetrySample]:
    result = []
    for row, t in enumerate(times):
        gpus = tuple(
            GpuSample(
                index=index,
                power_w=power,
                energy_mj=None if energies is None else energies[row][index],
            )
            for index, power in enumerate(powers[row])
        )
        result.append(TelemetrySample(t=t, gpus=gpus))
    return result


def test_energy_counter() -> None:
    samples = _samples(
        [0.0, 1.0, 2.0, 3.0],
        [[100.0, 50.0]] * 4,
        [[0, 1000], [100_000, 51_000], [250_000, 101_000], [400_000, 151_000]],
    )
    energy = energy_between(samples, 0.0, 3.0, sequences=100)
    assert energy == Energy(
        joules=550.0,
        joules_per_sequence=5.5,
        average_watts=550.0 / 3.0,
        method="nvml-energy-counter",
        reason=None,
    )


def test_energy_counter_uses_the_nearest_samples_and_their_window() -> None:
    samples = _samples([0.0, 1.0, 2.0, 3.0], [[1.0]] * 4, [[0], [100_000], [250_000], [400_000]])
    energy = energy_between(samples, 0.9, 2.2, sequences=10)
    assert energy.method == "nvml-energy-counter"
    assert energy.joules == 150.0
    assert energy.average_watts == 150.0  # over the samples' window, 1.0 s to 2.0 s
    assert energy.joules_per_sequence == 15.0


def test_energy_counter_of_chosen_gpus_only() -> None:
    samples = _samples([0.0, 2.0], [[1.0, 1.0]] * 2, [[0, 0], [100_000, 40_000]])
    energy = energy_between(samples, 0.0, 2.0, sequences=4, gpu_indices=[1])
    assert energy.method == "nvml-energy-counter"
    assert energy.joules == 40.0
    assert energy.average_watts == 20.0
    assert energy.joules_per_sequence == 10.0


def test_power_integration_when_the_counter_is_missing() -> None:
    # power rises linearly, 100 W per second: the trapezoid rule is exact on it
    samples = _samples([0.0, 1.0, 2.0, 3.0, 4.0], [[0.0], [100.0], [200.0], [300.0], [400.0]])
    energy = energy_between(samples, 0.5, 3.5, sequences=3)
    assert energy.method == "nvml-power-integration"
    assert energy.joules == pytest.approx(50.0 * (3.5**2 - 0.5**2))
    assert energy.average_watts == pytest.approx(600.0 / 3.0)
    assert energy.joules_per_sequence == pytest.approx(200.0)
    assert energy.reason == "NVML energy counter: energy counter not available on GPU 0"


def test_power_integration_sums_gpus_and_skips_incomplete_samples() -> None:
    samples = _samples(
        [0.0, 1.0, 2.0],
        [[100.0, 50.0], [None, 50.0], [100.0, 50.0]],
        [[None, 0], [None, None], [None, 10]],
    )
    energy = energy_between(samples, 0.0, 2.0, sequences=1)
    assert energy.method == "nvml-power-integration"
    assert energy.joules == 300.0
    assert energy.average_watts == 150.0


def test_counter_going_backwards_falls_back() -> None:
    samples = _samples([0.0, 1.0], [[10.0], [30.0]], [[5000], [10]])
    energy = energy_between(samples, 0.0, 1.0, sequences=1)
    assert energy.method == "nvml-power-integration"
    assert energy.joules == 20.0
    assert energy.reason == (
        "NVML energy counter: energy counter of GPU 0 went backwards (driver reloaded?)"
    )


def test_rapl_when_no_gpu() -> None:
    samples = [TelemetrySample(t=0.0), TelemetrySample(t=2.0)]
    energy = energy_between(
        samples, 0.0, 2.0, sequences=5, rapl_start_uj=1_000_000, rapl_end_uj=3_500_000
    )
    assert energy == Energy(
        joules=2.5,
        joules_per_sequence=0.5,
        average_watts=1.25,
        method="rapl",
        reason="no GPU in the samples",
    )


def test_rapl_when_gpu_figures_are_all_missing() -> None:
    samples = _samples([0.0, 1.0], [[None], [None]])
    energy = energy_between(samples, 0.0, 1.0, sequences=1, rapl_start_uj=0, rapl_end_uj=2_000_000)
    assert energy.method == "rapl"
    assert energy.joules == 2.0
    assert energy.reason == (
        "NVML energy counter: energy counter not available on GPU 0; "
        "NVML power: fewer than two power samples in the window"
    )


def test_none() -> None:
    energy = energy_between([], 0.0, 1.0, sequences=8)
    assert energy == Energy(None, None, None, "none", "no GPU in the samples; RAPL: no readings")
    assert json.loads(json.dumps(energy.to_dict()))["method"] == "none"


def test_rapl_readings_backwards() -> None:
    energy = energy_between([], 0.0, 1.0, sequences=1, rapl_start_uj=10, rapl_end_uj=5)
    assert energy.method == "none"
    assert energy.reason == (
        "no GPU in the samples; RAPL: the end reading is below the start reading"
    )


def test_empty_window() -> None:
    samples = _samples([0.0, 1.0], [[1.0], [1.0]], [[0], [1000]])
    energy = energy_between(samples, 1.0, 1.0, sequences=1)
    assert energy.method == "none"
    assert energy.joules is None
    assert energy.reason == "the window is empty (end is not after start)"


def test_single_sample_is_not_enough() -> None:
    samples = _samples([0.5], [[100.0]], [[1000]])
    energy = energy_between(samples, 0.0, 1.0, sequences=1)
    assert energy.method == "none"
    assert energy.reason == (
        "NVML energy counter: the window holds fewer than two samples; "
        "NVML power: fewer than two power samples in the window; RAPL: no readings"
    )


def test_samples_far_from_the_window() -> None:
    samples = _samples([10.0, 11.0], [[100.0], [100.0]], [[0], [100_000]])
    energy = energy_between(samples, 0.0, 2.0, sequences=1)
    assert energy.method == "none"
    assert energy.reason == (
        "NVML energy counter: no sample within 1 s of the start and of the end; "
        "NVML power: fewer than two power samples in the window; RAPL: no readings"
    )


def test_power_samples_not_reaching_the_end() -> None:
    samples = _samples([0.0, 1.0, 2.0], [[100.0]] * 3)
    energy = energy_between(samples, 0.0, 5.0, sequences=1, max_gap_s=1.0)
    assert energy.method == "none"
    assert "NVML power: power samples do not reach within 1 s" in str(energy.reason)


def test_zero_sequences() -> None:
    samples = _samples([0.0, 1.0], [[1.0], [1.0]], [[0], [1000]])
    energy = energy_between(samples, 0.0, 1.0, sequences=0)
    assert energy.joules == 1.0
    assert energy.joules_per_sequence is None
