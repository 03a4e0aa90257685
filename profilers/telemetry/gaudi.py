"""Which source gives Intel Gaudi telemetry here: HLML (pyhlml) when it initialises, else
``hl-smi`` when it is on PATH, else none, with both reasons; or a recorded hl-smi file replayed."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from profilers.telemetry.hl_smi import HlSmiReplay, HlSmiSampler
from profilers.telemetry.hlml import HlmlSampler
from profilers.telemetry.samples import HpuSample


class GaudiSource(Protocol):
    """A Gaudi telemetry source; ``mode`` is "hlml", "hl-smi", "replay", or None (none here)."""

    mode: str | None

    @property
    def available(self) -> bool: ...

    @property
    def reason(self) -> str | None: ...

    def sample(self) -> tuple[HpuSample, ...]: ...

    def close(self) -> None: ...


class NoGaudi:
    """No Gaudi telemetry: ``reason`` says why each source could not be used."""

    mode: str | None = None
    available = False

    def __init__(self, reason: str) -> None:
        self.reason: str | None = reason

    def sample(self) -> tuple[HpuSample, ...]:
        return ()

    def close(self) -> None:
        """Nothing was opened."""


def gaudi_source(replay: str | Path | None = None, hl_smi: str = "hl-smi") -> GaudiSource:
    """The Gaudi telemetry source for this machine (``replay``: an hl-smi CSV file to play back
    instead; a bad file raises ``InvalidInputError``)."""
    if replay is not None:
        return HlSmiReplay(replay)
    hlml = HlmlSampler()
    if hlml.available:
        return hlml
    reasons = [hlml.reason or "HLML not available"]
    hlml.close()
    fallback = HlSmiSampler(hl_smi)
    if fallback.available:
        return fallback
    reasons.append(fallback.reason or "hl-smi not available")
    return NoGaudi("Gaudi telemetry not available: " + "; ".join(reasons))
