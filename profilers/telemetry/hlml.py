"""Intel Gaudi telemetry through HLML (the ``pyhlml`` module of PyPI's ``habana-pyhlml``).

``habana-pyhlml`` is optional (``pip install 'plmprof[gaudi]'``); it loads
``/usr/lib/habanalabs/libhlml.so``, which only a Gaudi host has. Without that library its
``hlmlInit()`` *prints* "Failed to load libhlml" to standard output before raising: that print is
captured here (it would corrupt ``--export json -``) and becomes part of the reason. HLML is
initialised once, on first use; each query is made on its own, and one that fails leaves that
figure ``None``. Units as HLML gives them: power in mW, energy in mJ, memory in bytes.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import warnings
from typing import Any

from profilers.telemetry.readings import (
    LibrarySampler,
    as_float,
    as_int,
    as_text,
    describe,
    query,
)
from profilers.telemetry.samples import HpuSample

INSTALL_HINT = "pip install 'plmprof[gaudi]'"
TEMPERATURE_ON_AIP = 0  # HLML_TEMPERATURE_ON_AIP in pyhlml's generated types


class HlmlSampler(LibrarySampler[HpuSample]):
    """Samples every Gaudi card HLML can see. ``available`` and ``reason`` trigger the one-time
    initialisation; ``reason`` reads "HLML not available: <why>" when HLML cannot be used."""

    mode: str | None = "hlml"

    def __init__(self) -> None:
        super().__init__()
        self._hlml: Any = None
        self._static: dict[int, tuple[int | None, str | None, str | None]] = {}

    def _open(self) -> None:
        hlml, why = _initialised_pyhlml()
        if hlml is None:
            self._reason = f"HLML not available: {why}"
            return
        self._hlml = hlml
        self._opened = True
        count = as_int(query(hlml.hlmlDeviceGetCount))
        if not count:
            self._reason = "HLML not available: no Gaudi card found"
            return
        for index in range(count):
            handle = _handle(hlml, index)
            if handle is not None:
                self._handles.append((index, handle))
        if not self._handles:
            self._reason = "HLML not available: no Gaudi card could be opened"
        elif len(self._handles) < count:
            self._reason = f"some Gaudi cards not readable: {len(self._handles)} of {count}"

    def _shut(self) -> None:
        query(self._hlml.hlmlShutdown)
        self._hlml = None

    def _static_facts(self, index: int, handle: Any) -> tuple[int | None, str | None, str | None]:
        if index not in self._static:
            hl = self._hlml
            self._static[index] = (
                as_int(query(lambda: hl.hlmlDeviceGetModuleID(handle))),
                as_text(query(lambda: hl.hlmlDeviceGetName(handle))),
                as_text(query(lambda: hl.hlmlDeviceGetUUID(handle))),
            )
        return self._static[index]

    def _sample_one(self, index: int, handle: Any) -> HpuSample:
        hl = self._hlml
        module_id, name, uuid = self._static_facts(index, handle)
        rates = query(lambda: hl.hlmlDeviceGetUtilizationRates(handle))
        memory = query(lambda: hl.hlmlDeviceGetMemoryInfo(handle))
        return HpuSample(
            index=index,
            module_id=module_id,
            name=name,
            uuid=uuid,
            utilization_pct=as_float(getattr(rates, "aip", None)),
            memory_used_bytes=as_int(getattr(memory, "used", None)),
            memory_total_bytes=as_int(getattr(memory, "total", None)),
            power_w=as_float(query(lambda: hl.hlmlDeviceGetPowerUsage(handle)), 1000.0),
            temperature_c=as_float(
                query(lambda: hl.hlmlDeviceGetTemperature(handle, TEMPERATURE_ON_AIP))
            ),
            energy_mj=as_int(query(lambda: hl.hlmlDeviceGetTotalEnergyConsumption(handle))),
            source="hlml",
        )

    def driver_version(self) -> str | None:
        if not self.available:
            return None
        return as_text(query(self._hlml.hlmlGetDriverVersion))


def _handle(hlml: Any, index: int) -> Any:
    return query(lambda: hlml.hlmlDeviceGetHandleByIndex(index))


def _initialised_pyhlml() -> tuple[Any, str]:
    """``pyhlml`` after a successful ``hlmlInit()``, or None and why not. Whatever the package
    prints while it loads is kept off standard output and reported in the reason."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyhlml 1.24 imports a module it marks deprecated
        try:
            hlml = importlib.import_module("pyhlml")
        except ImportError:
            return None, f"the habana-pyhlml package is not installed ({INSTALL_HINT})"
        except Exception as error:  # a broken install must not take plmprof down
            return None, f"pyhlml failed to import: {describe(error)}"
        try:
            hlml.hlmlInit()
        except Exception as error:
            said = " ".join(printed.getvalue().split())
            return None, "; ".join(part for part in (said, describe(error)) if part)
    return hlml, ""
