from __future__ import annotations

import json
from pathlib import Path

import pytest

from profilers.telemetry import (
    Energy,
    GpuSample,
    HostSample,
    RaplReader,
    TelemetrySample,
    energy_between,
)


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
        window_s=3.0,
    )


def test_energy_counter_is_interpolated_at_the_window_edges() -> None:
    # 100 J in the second [0, 1], 150 J in each of [1, 2] and [2, 3]. The window 0.9 .. 2.2:
    # 0.1 s at 100 W + 1 s at 150 W + 0.2 s at 150 W = 10 + 150 + 30 = 190 J over 1.3 s.
    # (Taking the nearest samples, 1.0 and 2.0, gave 150 J over 1.0 s and divided it by the
    # sequences of the whole 1.3 s.)
    samples = _samples([0.0, 1.0, 2.0, 3.0], [[1.0]] * 4, [[0], [100_000], [250_000], [400_000]])
    energy = energy_between(samples, 0.9, 2.2, sequences=10)
    assert energy.method == "nvml-energy-counter"
    assert energy.joules == pytest.approx(190.0)
    assert energy.window_s == pytest.approx(1.3)
    assert energy.average_watts == pytest.approx(190.0 / 1.3)
    assert energy.joules_per_sequence == pytest.approx(19.0)


def test_energy_counter_window_starting_after_the_first_batch_end() -> None:
    # The reported case: the measured window starts at the first batch start (t=10.0) while the
    # old start reading came when the first batch ended (t=10.8); a steady 200 W is read from
    # samples every 0.5 s. Exactly the window: 200 W x 5 s = 1000 J for every sequence measured.
    times = [9.5 + 0.5 * i for i in range(13)]  # 9.5 .. 15.5
    samples = _samples(times, [[200.0]] * 13, [[int(200_000 * (t - 9.5))] for t in times])
    energy = energy_between(samples, 10.0, 15.0, sequences=50)
    assert energy.joules == pytest.approx(1000.0)
    assert energy.joules_per_sequence == pytest.approx(20.0)
    assert energy.average_watts == pytest.approx(200.0)


def test_energy_counter_extrapolated_a_little_beyond_the_last_sample() -> None:
    samples = _samples([0.0, 1.0, 2.0], [[1.0]] * 3, [[0], [100_000], [200_000]])
    assert energy_between(samples, 0.5, 2.5, 4).joules == pytest.approx(200.0)
    far = energy_between(samples, 0.5, 3.5, 4)
    assert far.method == "none"  # power integration is held to the same 1 s reach
    assert far.reason is not None and "no samples around the start and the end" in far.reason


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
        "NVML energy counter: GPU 0: the counter went backwards (driver reloaded?)"
    )


def _host(times: list[float], energies_uj: list[int | None]) -> list[TelemetrySample]:
    return [
        TelemetrySample(t=t, host=HostSample((), None, None, None, cpu_energy_uj=e))
        for t, e in zip(times, energies_uj, strict=True)
    ]


def test_rapl_when_no_gpu() -> None:
    samples = _host([0.0, 1.0, 2.0], [1_000_000, 2_000_000, 3_500_000])
    energy = energy_between(samples, 0.0, 2.0, sequences=5)
    assert energy == Energy(
        joules=2.5,
        joules_per_sequence=0.5,
        average_watts=1.25,
        method="rapl",
        reason="no GPU in the samples",
        window_s=2.0,
    )
    # interpolated at the edges: 0.5 .. 1.5 holds 0.5 J + 0.75 J
    assert energy_between(samples, 0.5, 1.5, sequences=1).joules == pytest.approx(1.25)


def test_rapl_wraps_are_counted_by_sampling(tmp_path: Path) -> None:
    # A package counter of range 100 kJ at 100 W wraps 2.5 times in 2,500 s. Two readings a run
    # apart see 50 kJ (the half wrap left over: 0.2x the truth); read at every telemetry sample
    # (here every 100 s), the running total counts each wrap: 250 kJ.
    zone = tmp_path / "intel-rapl:0"
    zone.mkdir()
    (zone / "name").write_text("package-0")
    (zone / "max_energy_range_uj").write_text(str(100_000_000_000))
    energy_file = zone / "energy_uj"
    energy_file.write_text("0")
    reader = RaplReader(tmp_path)
    samples = []
    for second in range(0, 2501, 100):  # sampled every 100 s at 100 W: 10 kJ apart, no wrap lost
        energy_file.write_text(str((second * 100 * 1_000_000) % 100_000_000_000))
        host = HostSample((), None, None, None, cpu_energy_uj=reader.read_uj())
        samples.append(TelemetrySample(t=float(second), host=host))
    energy = energy_between(samples, 0.0, 2500.0, sequences=1)
    assert energy.method == "rapl"
    assert energy.joules == pytest.approx(250_000.0)  # 100 W x 2,500 s


def test_rapl_when_gpu_figures_are_all_missing() -> None:
    samples = _samples([0.0, 1.0], [[None], [None]])
    for sample, uj in zip(samples, (0, 2_000_000), strict=True):
        object.__setattr__(sample, "host", HostSample((), None, None, None, cpu_energy_uj=uj))
    energy = energy_between(samples, 0.0, 1.0, sequences=1)
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
    energy = energy_between(_host([0.0, 1.0], [10, 5]), 0.0, 1.0, sequences=1)
    assert energy.method == "none"
    assert energy.reason == (
        "no GPU in the samples; RAPL: the counter went backwards (driver reloaded?)"
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
        "NVML energy counter: GPU 0: no samples around the start and the end (within 1 s); "
        "NVML power: fewer than two power samples in the window; RAPL: no readings"
    )


def test_samples_far_from_the_window() -> None:
    samples = _samples([10.0, 11.0], [[100.0], [100.0]], [[0], [100_000]])
    energy = energy_between(samples, 0.0, 2.0, sequences=1)
    assert energy.method == "none"
    assert energy.reason == (
        "NVML energy counter: GPU 0: no samples around the start and the end (within 1 s); "
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
