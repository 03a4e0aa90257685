from __future__ import annotations

from pathlib import Path

from profilers.telemetry import RaplReader


def _zone(root: Path, name: str, label: str | None, energy: str | None, range_uj: int) -> Path:
    zone = root / name
    zone.mkdir(parents=True)
    if label is not None:
        (zone / "name").write_text(f"{label}\n")
    if energy is not None:
        (zone / "energy_uj").write_text(f"{energy}\n")
    (zone / "max_energy_range_uj").write_text(f"{range_uj}\n")
    return zone


def _set(zone: Path, value: int) -> None:
    (zone / "energy_uj").write_text(f"{value}\n")


def test_sums_packages_only_and_handles_wraparound(tmp_path: Path) -> None:
    package0 = _zone(tmp_path, "intel-rapl:0", "package-0", "1000", 5000)
    package1 = _zone(tmp_path, "intel-rapl:1", "package-1", "2000", 5000)
    _zone(tmp_path, "intel-rapl:0:0", "core", "999999", 5000)  # part of package 0
    _zone(tmp_path, "intel-rapl:2", "psys", "777777", 5000)  # overlaps the packages
    (tmp_path / "dummy").mkdir()
    reader = RaplReader(tmp_path)
    assert reader.available
    assert reader.reason is None
    assert reader.read_uj() == 3000
    _set(package0, 1500)
    _set(package1, 2500)
    assert reader.read_uj() == 4000
    _set(package0, 200)  # wrapped: 1500 -> 5000 -> 0 -> 200 is 3700 more
    assert reader.read_uj() == 4000 + 3700
    _set(package0, 300)
    _set(package1, 2600)
    assert reader.read_uj() == 7700 + 100 + 100


def test_zone_without_name_file_counts(tmp_path: Path) -> None:
    _zone(tmp_path, "intel-rapl:0", None, "42", 1000)
    assert RaplReader(tmp_path).read_uj() == 42


def test_missing_root(tmp_path: Path) -> None:
    reader = RaplReader(tmp_path / "powercap")
    assert not reader.available
    assert reader.reason == f"RAPL not readable: {tmp_path / 'powercap'} missing"
    assert reader.read_uj() is None


def test_no_package_zone(tmp_path: Path) -> None:
    _zone(tmp_path, "intel-rapl:0:0", "core", "5", 1000)
    reader = RaplReader(tmp_path)
    assert not reader.available
    assert reader.reason == f"RAPL not readable: no intel-rapl:* package zone under {tmp_path}"
    assert reader.read_uj() is None


def test_energy_file_missing(tmp_path: Path) -> None:
    zone = _zone(tmp_path, "intel-rapl:0", "package-0", None, 1000)
    reader = RaplReader(tmp_path)
    assert not reader.available
    assert reader.reason == f"RAPL not readable: {zone / 'energy_uj'} missing"


def test_energy_file_unreadable(tmp_path: Path) -> None:
    zone = _zone(tmp_path, "intel-rapl:0", "package-0", "", 1000)
    reader = RaplReader(tmp_path)
    assert not reader.available
    assert reader.reason == (
        f"RAPL not readable: {zone / 'energy_uj'} permission denied or not a number"
    )


def test_counter_lost_after_start(tmp_path: Path) -> None:
    zone = _zone(tmp_path, "intel-rapl:0", "package-0", "10", 1000)
    reader = RaplReader(tmp_path)
    assert reader.read_uj() == 10
    (zone / "energy_uj").unlink()
    assert reader.read_uj() is None


def test_real_machine_never_raises() -> None:
    reader = RaplReader()
    if reader.available:
        first = reader.read_uj()
        second = reader.read_uj()
        assert first is not None and second is not None and second >= first
    else:
        assert reader.reason is not None and reader.reason.startswith("RAPL not readable: ")
        assert reader.read_uj() is None
