"""CPU package energy from Linux powercap RAPL counters (``intel-rapl:N/energy_uj``).

Only top-level package zones (``intel-rapl:0``, ``intel-rapl:1``, ...) are summed: their
sub-zones (``intel-rapl:0:0`` core, uncore, dram) are parts of the package, and a top-level
zone named other than ``package-*`` (``psys`` on some laptops) overlaps the packages. AMD CPUs
expose the same ``intel-rapl`` names. Since Linux 5.10 ``energy_uj`` is readable by root only.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

_PACKAGE = re.compile(r"^intel-rapl:\d+$")


@dataclass
class _Counter:
    path: Path
    range_uj: int | None
    last_raw: int | None = None
    total_uj: int = 0


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


class RaplReader:
    """Sums the package energy counters into one running total in microjoules.

    ``read_uj()`` returns a total that only grows: each package's counter wraps to zero after
    ``max_energy_range_uj``, and a reading smaller than the one before is taken as one wrap.
    This holds as long as readings come more often than one wrap period (minutes at full power).
    Take the difference of two ``read_uj()`` values for the energy between them.
    """

    def __init__(self, root: Path = Path("/sys/class/powercap")) -> None:
        self._root = root
        self._lock = threading.Lock()
        self._counters: list[_Counter] = []
        self._reason: str | None = None
        self._discover()

    def _discover(self) -> None:
        if not self._root.is_dir():
            self._reason = f"RAPL not readable: {self._root} missing"
            return
        try:
            zones = sorted(p for p in self._root.iterdir() if _PACKAGE.match(p.name))
        except OSError as error:
            self._reason = f"RAPL not readable: {self._root}: {error.strerror or error}"
            return
        for zone in zones:
            name_file = zone / "name"
            if name_file.exists():
                try:
                    name = name_file.read_text().strip()
                except OSError:
                    name = ""
                if name and not name.startswith("package"):
                    continue
            energy = zone / "energy_uj"
            if not energy.exists():
                self._reason = f"RAPL not readable: {energy} missing"
                self._counters = []
                return
            if _read_int(energy) is None:
                self._reason = f"RAPL not readable: {energy} permission denied or not a number"
                self._counters = []
                return
            self._counters.append(_Counter(energy, _read_int(zone / "max_energy_range_uj")))
        if not self._counters:
            self._reason = f"RAPL not readable: no intel-rapl:* package zone under {self._root}"

    @property
    def available(self) -> bool:
        return bool(self._counters)

    @property
    def reason(self) -> str | None:
        return self._reason

    def read_uj(self) -> int | None:
        """Running total of package energy in microjoules; ``None`` when a counter is unreadable."""
        if not self._counters:
            return None
        with self._lock:
            raws: list[int] = []
            for counter in self._counters:
                raw = _read_int(counter.path)
                if raw is None:
                    return None
                raws.append(raw)
            total = 0
            for counter, raw in zip(self._counters, raws, strict=True):
                if counter.last_raw is None:
                    counter.total_uj = raw
                elif raw >= counter.last_raw:
                    counter.total_uj += raw - counter.last_raw
                elif counter.range_uj is not None and counter.range_uj > counter.last_raw:
                    counter.total_uj += raw + counter.range_uj - counter.last_raw
                else:  # went backwards with no known range: count from the new reading on
                    counter.total_uj += raw
                counter.last_raw = raw
                total += counter.total_uj
            return total
