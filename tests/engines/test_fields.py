"""RunSpec's field metadata: the one source of run, compile and sweep options and sweep kinds."""

from __future__ import annotations

import dataclasses

import pytest

from engines.errors import InvalidInputError
from engines.fields import WORKLOAD_FIELDS, one_workload, parse_size_mb, parse_text
from engines.spec import FIELDS_BY_NAME, SPEC_FIELDS, RunSpec, workload_fields


def test_every_field_but_notes_has_metadata_with_its_default() -> None:
    names = [f.name for f in dataclasses.fields(RunSpec)]
    assert [info.name for info in SPEC_FIELDS] == [n for n in names if n != "notes"]
    defaults = RunSpec().to_dict()
    for info in SPEC_FIELDS:
        assert info.help, info.name
        assert (list(info.default) if isinstance(info.default, tuple) else info.default) == (
            defaults[info.name]
        )


def test_kinds_flags_and_axes() -> None:
    memory = FIELDS_BY_NAME["memory_limit_mb"]
    assert (memory.kind, memory.flag, memory.optional) == ("size", "memory-limit", True)
    assert FIELDS_BY_NAME["seq_len"].optional and FIELDS_BY_NAME["seq_len"].axis == "seq_lens"
    assert FIELDS_BY_NAME["buckets"].kind == "ints"
    assert FIELDS_BY_NAME["model"].names == ("model", "models")
    assert FIELDS_BY_NAME["duration_s"].names == ("duration_s", "duration")
    assert "compile" not in FIELDS_BY_NAME["device"].commands


def test_the_one_workload_rule() -> None:
    assert workload_fields({}) == {"seq_len": RunSpec().seq_len, "lengths": None, "fasta": None}
    assert one_workload({"lengths": "proteome"}, 64) == {
        "seq_len": None,
        "lengths": "proteome",
        "fasta": None,
    }
    with pytest.raises(InvalidInputError, match="give one workload"):
        one_workload({"seq_len": 3, "fasta": "x.fa"}, 64)
    assert WORKLOAD_FIELDS == ("seq_len", "lengths", "fasta")


def test_text_settings() -> None:
    assert parse_size_mb("4GB") == 4000 and parse_size_mb("512") == 512
    assert parse_text("ints", "256,128") == (128, 256)
    assert parse_text("devices", "cuda:0, cuda:1") == ("cuda:0", "cuda:1")
    with pytest.raises(InvalidInputError, match="memory size"):
        parse_text("size", "lots")
