"""Cost per million inferences, as the Neuron performance pages and NeuronPerf compute it::

    cost_per_1M = (1e6 / throughput_per_s) × (hourly_rate / 3600)

Prices are dated, kinded ("on-demand" or "RI-effective") and sourced; users can override them with
a price per hour of their own. On EC2 Nitro instances the instance type is read offline from DMI.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from engines.errors import InvalidInputError

ON_DEMAND = "on-demand"
RI_EFFECTIVE = "RI-effective"
USER_GIVEN = "user-given"
PRICE_KINDS = (ON_DEMAND, RI_EFFECTIVE)


@dataclass(frozen=True)
class Price:
    instance_type: str
    usd_per_hour: float
    kind: str  # "on-demand" or "RI-effective"
    date: str  # when the rate was published or seen, "YYYY-MM"
    source: str
    verified: bool
    region: str = "us-east-1"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


_AWS_OD = "AWS on-demand rate as quoted on the Neuron performance pages"
_NEURON_RI = "AWS Neuron docs performance pages (RI-effective rate)"
_EC2_OD = (
    "AWS EC2 on-demand pricing page, Linux; figure as last seen, not checked against the live "
    "page from here (no internet): confirm it or pass --price-per-hour"
)
_P_CUT = "; AWS announced on-demand price cuts for P4 and P5 instances in 2025-06"


# (instance type, on-demand $/h, date of the on-demand rate, RI-effective $/h) from the Neuron
# performance pages, which quote us-east-1; their RI-effective rates are those used since 2024-09.
_NEURON_RATES: tuple[tuple[str, float, str, float], ...] = (
    ("inf2.xlarge", 0.758, "2023-09", 0.328),
    ("inf2.8xlarge", 1.97, "2023-09", 0.850),
    ("inf2.24xlarge", 6.49, "2023-09", 2.804),
    ("inf2.48xlarge", 12.981, "2023-09", 5.608),
    ("trn1.2xlarge", 1.34, "2023-02", 0.512),
    ("trn1.32xlarge", 21.50, "2023-02", 8.197),
)

# (instance type, on-demand $/h, date seen, source note) for GPU instances, us-east-1, Linux.
_EC2_RATES: tuple[tuple[str, float, str, str], ...] = (
    ("g4dn.xlarge", 0.526, "2024-12", _EC2_OD),
    ("g4dn.2xlarge", 0.752, "2024-12", _EC2_OD),
    ("g4dn.4xlarge", 1.204, "2024-12", _EC2_OD),
    ("g4dn.12xlarge", 3.912, "2024-12", _EC2_OD),
    ("g5.xlarge", 1.006, "2024-12", _EC2_OD),
    ("g5.2xlarge", 1.212, "2024-12", _EC2_OD),
    ("g5.12xlarge", 5.672, "2024-12", _EC2_OD),
    ("g5.48xlarge", 16.288, "2024-12", _EC2_OD),
    ("g6.xlarge", 0.8048, "2024-12", _EC2_OD),
    ("g6.2xlarge", 0.9776, "2024-12", _EC2_OD),
    ("g6.12xlarge", 4.6016, "2024-12", _EC2_OD),
    ("g6.48xlarge", 13.3504, "2024-12", _EC2_OD),
    ("p4d.24xlarge", 32.7726, "2024-12", _EC2_OD + _P_CUT),
    ("p5.48xlarge", 98.32, "2024-12", _EC2_OD + _P_CUT),
)

# Instance types users name for which no rate is built in, and why.
NO_PRICE: dict[str, str] = {
    "trn2.48xlarge": "no trn2 rate is built in (none could be confirmed here)",
}

_PRICE_LIST: list[Price] = [
    *(Price(i, od, ON_DEMAND, date, _AWS_OD, True) for i, od, date, _ in _NEURON_RATES),
    *(Price(i, ri, RI_EFFECTIVE, "2024-09", _NEURON_RI, True) for i, _, _, ri in _NEURON_RATES),
    *(Price(i, od, ON_DEMAND, date, source, False) for i, od, date, source in _EC2_RATES),
    # 8 first-generation Gaudi cards (no peak in the MFU table: pass --peak-tflops there).
    Price(
        "dl1.24xlarge",
        13.11,
        ON_DEMAND,
        "2021-10",
        "AWS on-demand rate as quoted at the DL1 launch (us-east-1), UNVERIFIED here",
        False,
    ),
]

# (instance type, kind) -> price
PRICES: dict[tuple[str, str], Price] = {(p.instance_type, p.kind): p for p in _PRICE_LIST}


def known_instance_types() -> list[str]:
    """Instance types in the built-in price table, sorted."""
    return sorted({itype for itype, _ in PRICES})


def lookup_price(instance_type: str, kind: str = ON_DEMAND) -> Price:
    """The built-in price of ``instance_type`` of the given kind ("on-demand" or "RI-effective").

    Raises InvalidInputError for an unknown instance type (listing the known ones), an unknown
    kind, or a kind the table has no rate for.
    """
    itype = instance_type.strip().lower()
    kinds = {k.lower(): k for k in PRICE_KINDS}
    wanted = kinds.get(kind.strip().lower())
    if wanted is None:
        raise InvalidInputError(
            f"unknown price kind {kind!r}; choose one of: {', '.join(PRICE_KINDS)}"
        )
    known = known_instance_types()
    if itype in NO_PRICE:
        raise InvalidInputError(
            f"{NO_PRICE[itype]}; pass --price-per-hour with the rate you pay for {itype}"
        )
    if itype not in known:
        raise InvalidInputError(
            f"no built-in price for instance type {instance_type!r}; known: {', '.join(known)}. "
            "Pass --price-per-hour to give your own."
        )
    price = PRICES.get((itype, wanted))
    if price is None:
        have = ", ".join(k for k in PRICE_KINDS if (itype, k) in PRICES)
        raise InvalidInputError(
            f"no {wanted} price for {itype} (have: {have}); pass --price-per-hour with your "
            "effective rate (reserved instances, savings plans)"
        )
    return price


def cost_per_million(throughput_per_s: float, usd_per_hour: float) -> float:
    """USD per million items: (1e6 / throughput_per_s) × (usd_per_hour / 3600).

    Raises ValueError unless the throughput is positive and the rate finite and not negative.
    """
    if not math.isfinite(throughput_per_s) or throughput_per_s <= 0.0:
        raise ValueError(f"throughput must be positive, got {throughput_per_s!r}")
    if not math.isfinite(usd_per_hour) or usd_per_hour < 0.0:
        raise ValueError(f"hourly rate must not be negative, got {usd_per_hour!r}")
    return (1e6 / throughput_per_s) * (usd_per_hour / 3600.0)


@dataclass(frozen=True)
class Cost:
    usd_per_hour: float
    price_kind: str  # "on-demand", "RI-effective" or "user-given"
    price_date: str | None
    instance_type: str | None
    source: str
    per_million_sequences: float | None  # None when no sequences/s were measured
    per_million_residues: float | None
    verified: bool = True
    region: str | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def cost(seq_per_s: float, residues_per_s: float, price: Price | float) -> Cost:
    """Cost per million sequences and per million residues at ``price``.

    ``price`` is a table ``Price`` or a float, a user-given --price-per-hour (USD; must be finite
    and not negative, else InvalidInputError). A throughput that is not positive gives None for
    its figure: no rate was measured, so no cost can be.
    """
    if isinstance(price, Price):
        rate = price.usd_per_hour
        kind, date, itype, source, verified, region = (
            price.kind,
            price.date,
            price.instance_type,
            price.source,
            price.verified,
            price.region,
        )
    else:
        rate = float(price)
        if not math.isfinite(rate) or rate < 0.0:
            raise InvalidInputError(f"--price-per-hour must be a number >= 0, got {price}")
        kind, date, itype, source, verified, region = (
            USER_GIVEN,
            None,
            None,
            "--price-per-hour",
            True,
            None,
        )

    def per_million(throughput_per_s: float) -> float | None:
        if not math.isfinite(throughput_per_s) or throughput_per_s <= 0.0:
            return None
        return cost_per_million(throughput_per_s, rate)

    return Cost(
        usd_per_hour=rate,
        price_kind=kind,
        price_date=date,
        instance_type=itype,
        source=source,
        per_million_sequences=per_million(seq_per_s),
        per_million_residues=per_million(residues_per_s),
        verified=verified,
        region=region,
    )


DMI_PRODUCT_NAME = Path("/sys/devices/virtual/dmi/id/product_name")

# An EC2 instance type: family (with generation and options) "." size, e.g. "inf2.xlarge",
# "g4dn.4xlarge", "c7i.metal-24xl".
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[0-9a-z]+(-[0-9a-z]+)*$")


def read_instance_type(dmi_path: Path = DMI_PRODUCT_NAME) -> str | None:
    """The EC2 instance type from DMI's product name (Nitro instances), e.g. "inf2.xlarge".

    None when the file is missing or unreadable or does not hold an instance type (a laptop's or a
    non-Nitro VM's product name). Offline, and never raises.
    """
    try:
        with dmi_path.open("rb") as handle:
            raw = handle.read(256)
        text = raw.decode("ascii").strip()
    except (OSError, ValueError):
        return None
    return text if _INSTANCE_TYPE.fullmatch(text) else None


__all__ = [
    "DMI_PRODUCT_NAME",
    "NO_PRICE",
    "ON_DEMAND",
    "PRICES",
    "PRICE_KINDS",
    "RI_EFFECTIVE",
    "USER_GIVEN",
    "Cost",
    "Price",
    "cost",
    "cost_per_million",
    "known_instance_types",
    "lookup_price",
    "read_instance_type",
]
