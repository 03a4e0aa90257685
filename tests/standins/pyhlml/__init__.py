"""STAND-IN for habana-pyhlml's ``pyhlml`` (tests only; see tests/standins/README.md).

The API names, return types and units are the real package's (1.24): power in mW, energy in mJ,
memory in bytes, ``hlmlDeviceGetUtilizationRates`` returning an object with ``aip`` and
``memory``. Like the real package, ``hlmlInit()`` without the library prints "Failed to load
libhlml" to stdout and raises. Tests set ``LIBRARY_PRESENT`` and ``CARDS`` (and ``FAILING`` to
make single queries fail).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LIBRARY_PRESENT = False
INITIALISED = False
FAILING: set[str] = set()  # names of queries that raise


class HLMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return {1: "Lib not initialized", 3: "Not supported"}.get(self.value, "Unknown")


class HLMLError_Uninitialized(HLMLError):  # the real package's class name
    def __init__(self) -> None:
        super().__init__(1)


@dataclass
class Card:
    name: bytes = b"HL-225"
    uuid: bytes = b"01P0-HL2080A0-15-TNDR27-05-07-09"
    aip: int = 0
    memory_util: int = 0
    used: int = 0
    total: int = 103_079_215_104
    power_mw: int = 90_000
    energy_mj: int = 1_000_000
    temperature_c: int = 30
    module_id: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


CARDS: list[Card] = []


@dataclass
class _Utilization:
    aip: int
    memory: int


@dataclass
class _Memory:
    free: int
    total: int
    used: int


def reset(present: bool = False, cards: list[Card] | None = None) -> None:
    global LIBRARY_PRESENT, INITIALISED
    LIBRARY_PRESENT = present
    INITIALISED = False
    FAILING.clear()
    CARDS[:] = cards or []


def _check(name: str) -> None:
    if not INITIALISED:
        raise HLMLError_Uninitialized()
    if name in FAILING:
        raise HLMLError(3)


def hlmlInit() -> None:
    global INITIALISED
    if not LIBRARY_PRESENT:
        print("Failed to load libhlml")
        raise HLMLError_Uninitialized()
    INITIALISED = True


def hlmlShutdown() -> None:
    global INITIALISED
    _check("hlmlShutdown")
    INITIALISED = False


def hlmlDeviceGetCount() -> int:
    _check("hlmlDeviceGetCount")
    return len(CARDS)


def hlmlDeviceGetHandleByIndex(index: int) -> Card:
    _check("hlmlDeviceGetHandleByIndex")
    return CARDS[index]


def hlmlDeviceGetName(device: Card) -> bytes:
    _check("hlmlDeviceGetName")
    return device.name


def hlmlDeviceGetUUID(device: Card) -> bytes:
    _check("hlmlDeviceGetUUID")
    return device.uuid


def hlmlDeviceGetModuleID(device: Card) -> int:
    _check("hlmlDeviceGetModuleID")
    return device.module_id


def hlmlDeviceGetUtilizationRates(device: Card) -> _Utilization:
    _check("hlmlDeviceGetUtilizationRates")
    return _Utilization(device.aip, device.memory_util)


def hlmlDeviceGetMemoryInfo(device: Card) -> _Memory:
    _check("hlmlDeviceGetMemoryInfo")
    return _Memory(device.total - device.used, device.total, device.used)


def hlmlDeviceGetPowerUsage(device: Card) -> int:
    _check("hlmlDeviceGetPowerUsage")
    return device.power_mw


def hlmlDeviceGetTotalEnergyConsumption(device: Card) -> int:
    _check("hlmlDeviceGetTotalEnergyConsumption")
    return device.energy_mj


def hlmlDeviceGetTemperature(device: Card, sensor_type: int) -> int:
    _check("hlmlDeviceGetTemperature")
    if sensor_type != 0:  # HLML_TEMPERATURE_ON_AIP
        raise HLMLError(3)
    return device.temperature_c


def hlmlGetDriverVersion() -> bytes:
    _check("hlmlGetDriverVersion")
    return b"1.24.2"
