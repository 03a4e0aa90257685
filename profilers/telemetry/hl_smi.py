"""Intel Gaudi telemetry from ``hl-smi --query-aip=… --format=csv`` (the fallback when HLML is not
usable), live or replayed from a recorded file.

Intel's documented query fields are used; ``hl-smi`` prints one CSV row per card. With
``--format=csv`` a header names the fields and their units ("memory.used [MiB]") and values carry
units ("512 MiB"); with ``noheader,nounits`` they are bare numbers in the order asked, memory in
MiB. Both are read: a header, when present, decides the field order and the memory unit. Rows
are grouped into one reading per refresh: a card index seen again starts the next reading (that
is how ``hl-smi -l`` output is split). "N/A" and anything unreadable is ``None``. hl-smi has no
energy counter, so energy from these samples is integrated from power.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from engines.errors import InvalidInputError
from profilers.telemetry.samples import HpuSample

QUERY = (
    "index",
    "module_id",
    "name",
    "uuid",
    "utilization.aip",
    "memory.used",
    "memory.total",
    "power.draw",
    "temperature.aip",
)
_MEMORY_UNITS = {"b": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "kb": 1e3, "mb": 1e6, "gb": 1e9}
_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)")
_HEADER_FIELD = re.compile(r"^\s*([a-z_.]+)\s*(?:\[([^\]]*)\])?\s*$", re.IGNORECASE)
TIMEOUT_S = 5.0


def command(executable: str = "hl-smi") -> list[str]:
    """The hl-smi call one live reading makes."""
    return [executable, f"--query-aip={','.join(QUERY)}", "--format=csv,noheader,nounits"]


def _number(cell: str) -> float | None:
    match = _NUMBER.match(cell)
    return float(match.group(1)) if match else None


def _memory_bytes(cell: str, header_unit: str | None) -> int | None:
    """Memory in bytes: the unit from the header, else from the cell ("512 MiB"), else MiB
    (what ``nounits`` leaves out)."""
    match = _NUMBER.match(cell)
    if match is None:
        return None
    unit = (header_unit or cell[match.end() :].strip() or "MiB").lower()
    scale = _MEMORY_UNITS.get(unit)
    return None if scale is None else int(float(match.group(1)) * scale)


def _text(cell: str) -> str | None:
    cell = cell.strip()
    return None if not cell or cell.upper() == "N/A" else cell


def _header(cells: list[str]) -> tuple[tuple[str, ...], dict[str, str]] | None:
    """(fields, units) when ``cells`` is a header row, else None."""
    fields, units = [], {}
    for cell in cells:
        match = _HEADER_FIELD.match(cell)
        if match is None:
            return None
        fields.append(match.group(1).lower())
        if match.group(2):
            units[match.group(1).lower()] = match.group(2)
    return (tuple(fields), units) if "index" in fields else None


def _card(row: dict[str, str], units: dict[str, str], order: int) -> HpuSample:
    index = _number(row.get("index", ""))
    module = _number(row.get("module_id", ""))
    return HpuSample(
        index=int(index) if index is not None else order,
        module_id=None if module is None else int(module),
        name=_text(row.get("name", "")),
        uuid=_text(row.get("uuid", "")),
        utilization_pct=_number(row.get("utilization.aip", "")),
        memory_used_bytes=_memory_bytes(row.get("memory.used", ""), units.get("memory.used")),
        memory_total_bytes=_memory_bytes(row.get("memory.total", ""), units.get("memory.total")),
        power_w=_number(row.get("power.draw", "")),
        temperature_c=_number(row.get("temperature.aip", "")),
        energy_mj=None,
        source="hl-smi",
    )


def parse_hl_smi_csv(text: str, source: str = "hl-smi output") -> list[tuple[HpuSample, ...]]:
    """The readings in hl-smi CSV output, in order (one tuple of cards per refresh).

    Raises ``InvalidInputError`` naming the line when a row has the wrong number of fields."""
    fields: tuple[str, ...] = QUERY
    units: dict[str, str] = {}
    readings: list[tuple[HpuSample, ...]] = []
    current: list[HpuSample] = []
    for number, cells in enumerate(csv.reader(text.splitlines()), start=1):
        if not cells or not "".join(cells).strip():
            continue
        header = _header(cells)
        if header is not None:
            fields, units = header
            continue
        if len(cells) != len(fields):
            raise InvalidInputError(
                f"{source} line {number}: {len(cells)} fields, expected {len(fields)} "
                f"({', '.join(fields)})"
            )
        card = _card(dict(zip(fields, cells, strict=True)), units, len(current))
        if any(seen.index == card.index for seen in current):
            readings.append(tuple(current))
            current = []
        current.append(card)
    if current:
        readings.append(tuple(current))
    return readings


class HlSmiSampler:
    """Runs ``hl-smi`` once per reading (it is not kept running)."""

    mode: str | None = "hl-smi"

    def __init__(self, executable: str = "hl-smi", timeout_s: float = TIMEOUT_S) -> None:
        self._path = shutil.which(executable)
        self._executable = executable
        self._timeout_s = timeout_s
        self._reason = None if self._path else f"{executable} not found on PATH"

    @property
    def available(self) -> bool:
        return self._path is not None

    @property
    def reason(self) -> str | None:
        return self._reason

    def sample(self) -> tuple[HpuSample, ...]:
        """One reading of every card; raises when hl-smi fails (the monitor records why)."""
        if self._path is None:
            return ()
        done = subprocess.run(
            command(self._path),
            capture_output=True,
            text=True,
            timeout=self._timeout_s,
            check=False,
        )
        if done.returncode != 0:
            said = " ".join((done.stderr or done.stdout).split())[:200]
            raise RuntimeError(f"{self._executable} exited with {done.returncode}: {said}")
        readings = parse_hl_smi_csv(done.stdout, self._executable)
        return tuple(card for reading in readings for card in reading)

    def close(self) -> None:
        """Nothing runs between readings."""


class HlSmiReplay:
    """Plays back a recorded hl-smi CSV file one reading per ``sample()`` (looping when
    ``cycle``). A missing, unreadable, malformed or empty file raises ``InvalidInputError``."""

    mode: str | None = "replay"

    def __init__(self, path: str | Path, cycle: bool = True) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            what = "is a directory" if self.path.is_dir() else "does not exist"
            raise InvalidInputError(f"hl-smi replay file '{self.path}' {what}")
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            message = f"cannot read hl-smi replay file '{self.path}': {error}"
            raise InvalidInputError(message) from None
        readings = parse_hl_smi_csv(text, f"hl-smi replay file '{self.path}'")
        if not readings:
            raise InvalidInputError(f"hl-smi replay file '{self.path}' holds no readings")
        self._readings: Iterator[tuple[HpuSample, ...]] = (
            _cycle(readings) if cycle else iter(readings)
        )
        self.available = True
        self.reason: str | None = None

    def sample(self) -> tuple[HpuSample, ...]:
        return next(self._readings, ())

    def close(self) -> None:
        """Nothing to stop."""


def _cycle(readings: list[tuple[HpuSample, ...]]) -> Iterator[tuple[HpuSample, ...]]:
    while True:
        yield from readings
