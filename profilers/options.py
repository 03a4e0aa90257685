"""How a run is measured and reported, apart from what runs (the RunSpec)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from engines.errors import InvalidInputError
from profilers.cost import PRICE_KINDS

_POSITIVE = ("telemetry_interval_s", "snapshot_interval_s", "window_s")


def _flag(name: str) -> str:
    return "--" + name.removesuffix("_s").replace("_", "-")


@dataclass(frozen=True)
class MeasureOptions:
    """``telemetry_interval_s``: device sampling period; ``snapshot_interval_s``: how often live
    snapshots are made; ``window_s``: the rolling window of live percentiles and throughput.
    Price: ``price_per_hour`` wins over ``instance_type``; with neither, the instance type read
    from DMI (EC2) is priced if it is in the table."""

    telemetry_interval_s: float = 0.5
    snapshot_interval_s: float = 0.25
    window_s: float = 5.0
    price_per_hour: float | None = None
    instance_type: str | None = None
    price_kind: str = "on-demand"
    peak_tflops: float | None = None
    telemetry: bool = True
    neuron_monitor: bool = True

    def __post_init__(self) -> None:
        for name in ("price_per_hour", "peak_tflops", *_POSITIVE):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise InvalidInputError(f"{_flag(name)} must be a finite number (got {value})")
        for name in _POSITIVE:
            value = getattr(self, name)
            if not value > 0:
                raise InvalidInputError(f"{name.replace('_', ' ')} must be > 0 (got {value})")
        if self.peak_tflops is not None and not self.peak_tflops > 0:
            raise InvalidInputError(f"--peak-tflops must be > 0 (got {self.peak_tflops})")
        if self.price_kind not in PRICE_KINDS:
            raise InvalidInputError(
                f"--price-kind '{self.price_kind}' is not one of {', '.join(PRICE_KINDS)}"
            )
        if self.price_per_hour is not None and self.price_per_hour < 0:
            raise InvalidInputError(f"--price-per-hour must be >= 0 (got {self.price_per_hour})")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
