from pathlib import Path

import pytest

from engines.errors import InvalidInputError
from profilers.cost import (
    PRICES,
    Cost,
    Price,
    cost,
    cost_per_million,
    known_instance_types,
    lookup_price,
    read_instance_type,
)


def test_cost_per_million_worked_example() -> None:
    # 100 sequences/s for 1e6 sequences = 10,000 s = 2.777... h; at $0.758/h -> $2.1055...
    assert cost_per_million(100.0, 0.758) == pytest.approx(10_000 / 3600 * 0.758, rel=1e-12)
    assert cost_per_million(100.0, 0.758) == pytest.approx(2.105555555555, rel=1e-9)
    # 1,000,000 per hour at $3.60/h costs exactly $3.60 per million
    assert cost_per_million(1e6 / 3600, 3.6) == pytest.approx(3.6, rel=1e-12)
    with pytest.raises(ValueError):
        cost_per_million(0.0, 1.0)
    with pytest.raises(ValueError):
        cost_per_million(1.0, -1.0)


@pytest.mark.parametrize(
    ("itype", "kind", "rate", "date"),
    [
        ("inf2.xlarge", "on-demand", 0.758, "2023-09"),
        ("inf2.8xlarge", "on-demand", 1.97, "2023-09"),
        ("inf2.24xlarge", "on-demand", 6.49, "2023-09"),
        ("inf2.48xlarge", "on-demand", 12.981, "2023-09"),
        ("trn1.2xlarge", "on-demand", 1.34, "2023-02"),
        ("trn1.32xlarge", "on-demand", 21.50, "2023-02"),
        ("inf2.xlarge", "RI-effective", 0.328, "2024-09"),
        ("inf2.8xlarge", "RI-effective", 0.850, "2024-09"),
        ("inf2.24xlarge", "RI-effective", 2.804, "2024-09"),
        ("inf2.48xlarge", "RI-effective", 5.608, "2024-09"),
        ("trn1.2xlarge", "RI-effective", 0.512, "2024-09"),
        ("trn1.32xlarge", "RI-effective", 8.197, "2024-09"),
        ("g5.xlarge", "on-demand", 1.006, "2024-12"),
        ("g4dn.4xlarge", "on-demand", 1.204, "2024-12"),
        ("g6.xlarge", "on-demand", 0.8048, "2024-12"),
        ("p4d.24xlarge", "on-demand", 32.7726, "2024-12"),
        ("p5.48xlarge", "on-demand", 98.32, "2024-12"),
    ],
)
def test_price_table(itype: str, kind: str, rate: float, date: str) -> None:
    price = lookup_price(itype, kind)
    assert (price.instance_type, price.kind, price.usd_per_hour, price.date) == (
        itype,
        kind,
        rate,
        date,
    )
    assert price.source


def test_every_price_has_source_date_and_region() -> None:
    for price in PRICES.values():
        assert price.source and price.region == "us-east-1"
        assert len(price.date) == 7 and price.date[4] == "-"  # YYYY-MM
    # the families the seeds and users name are covered (trn2 by a clear refusal, below)
    families = {itype.partition(".")[0] for itype in known_instance_types()}
    assert {"g4dn", "g5", "g6", "p4d", "p5", "inf2", "trn1"} <= families


def test_price_table_size_and_verification() -> None:
    assert len(PRICES) == 27
    for unverified in ("g4dn.4xlarge", "dl1.24xlarge"):
        assert lookup_price(unverified).verified is False
    assert "not checked against the live page" in lookup_price("g4dn.4xlarge").source
    assert "UNVERIFIED" in lookup_price("dl1.24xlarge").source
    assert lookup_price("dl1.24xlarge").date == "2021-10"
    assert "price cuts" in lookup_price("p5.48xlarge").source
    assert lookup_price("inf2.xlarge").verified is True
    assert lookup_price(" INF2.XLARGE ", "ri-effective").usd_per_hour == 0.328


def test_lookup_errors() -> None:
    with pytest.raises(InvalidInputError) as err:
        lookup_price("x9.huge")
    message = str(err.value)
    for itype in known_instance_types():
        assert itype in message
    with pytest.raises(InvalidInputError, match="effective rate"):
        lookup_price("g5.xlarge", "RI-effective")
    with pytest.raises(InvalidInputError, match="no trn2 rate is built in"):
        lookup_price("trn2.48xlarge")
    with pytest.raises(InvalidInputError):
        lookup_price("inf2.xlarge", "spot")


def test_cost_from_table_price() -> None:
    c = cost(seq_per_s=100.0, residues_per_s=30_000.0, price=lookup_price("inf2.xlarge"))
    assert isinstance(c, Cost)
    assert c.usd_per_hour == 0.758
    assert c.price_kind == "on-demand"
    assert c.price_date == "2023-09"
    assert c.instance_type == "inf2.xlarge"
    assert c.per_million_sequences == pytest.approx(0.758 * 10_000 / 3600)
    assert c.per_million_residues == pytest.approx(0.758 * (1e6 / 30_000) / 3600)
    d = c.to_dict()
    assert d["per_million_sequences"] == c.per_million_sequences
    assert d["instance_type"] == "inf2.xlarge"
    assert d["region"] == "us-east-1"


def test_cost_from_user_rate() -> None:
    c = cost(50.0, 0.0, 2.0)
    assert c.price_kind == "user-given"
    assert c.instance_type is None and c.price_date is None
    assert c.per_million_sequences == pytest.approx(2.0 * 20_000 / 3600)
    assert c.per_million_residues is None  # no residues/s measured: no cost
    with pytest.raises(InvalidInputError):
        cost(1.0, 1.0, -0.5)
    with pytest.raises(InvalidInputError):
        cost(1.0, 1.0, float("nan"))


def test_price_is_a_plain_record() -> None:
    p = Price("x.large", 1.0, "on-demand", "2025-01", "test", False)
    assert p.to_dict()["verified"] is False


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("inf2.xlarge\n", "inf2.xlarge"),
        ("g4dn.4xlarge", "g4dn.4xlarge"),
        ("trn1.32xlarge\n", "trn1.32xlarge"),
        ("c7i.metal-24xl\n", "c7i.metal-24xl"),
        ("Standard PC (Q35 + ICH9, 2009)\n", None),
        ("HVM domU\n", None),
        ("KVM\n", None),
        ("", None),
        ("Inf2.XLARGE", None),
    ],
)
def test_read_instance_type(tmp_path: Path, content: str, expected: str | None) -> None:
    f = tmp_path / "product_name"
    f.write_text(content)
    assert read_instance_type(f) == expected


def test_read_instance_type_never_raises(tmp_path: Path) -> None:
    assert read_instance_type(tmp_path / "missing") is None
    assert read_instance_type(tmp_path) is None  # a directory
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00inf2")
    assert read_instance_type(binary) is None


def test_price_kind_is_checked_before_a_run() -> None:
    from profilers.options import MeasureOptions

    assert MeasureOptions(price_kind="RI-effective").price_kind == "RI-effective"
    with pytest.raises(InvalidInputError, match="--price-kind 'spot' is not one of"):
        MeasureOptions(price_kind="spot")
