"""The compile cache: stable keys that change with every input, atomic files, bad files."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest
import torch
from neuron_helpers import tiny_esm
from torch import nn

from engines.backends.neuron.cache import (
    CacheKey,
    CompileCache,
    cache_root,
    structure_fingerprint,
    weights_identity,
)
from engines.errors import InvalidInputError


def make_key(**changes: Any) -> CacheKey:
    fields: dict[str, Any] = {
        "model": "esm2_t6_8M",
        "weights": "random:0",
        "rows": 8,
        "tokens": 128,
        "compiler_args": ("--target", "inf2", "--auto-cast", "none"),
        "sdk_version": "2.9.0.2.13",
        "compiler_version": "2.21.0",
        "variant": {"attention": "sdpa", "structure": "abc"},
    }
    fields.update(changes)
    return CacheKey(**fields)


def test_key_digest_is_stable() -> None:
    # A literal: the digest must not depend on the process, dict order or Python's hash seed.
    key = make_key()
    assert key.canonical() == (
        '{"compiler_args":["--target","inf2","--auto-cast","none"],'
        '"compiler_version":"2.21.0","format":1,"model":"esm2_t6_8M","rows":8,'
        '"sdk_version":"2.9.0.2.13","tokens":128,'
        '"variant":{"attention":"sdpa","structure":"abc"},"weights":"random:0"}'
    )
    assert key.digest() == make_key(variant={"structure": "abc", "attention": "sdpa"}).digest()
    assert len(key.digest()) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"model": "esm2_t12_35M"},
        {"weights": "random:1"},
        {"rows": 4},
        {"tokens": 256},
        {"compiler_args": ("--target", "trn1", "--auto-cast", "none")},
        {"compiler_args": ("--target", "inf2", "--auto-cast", "matmult")},
        {"sdk_version": "2.9.0.2.14"},
        {"compiler_version": None},
        {"variant": {"attention": "eager", "structure": "abc"}},
        {"variant": {"attention": "sdpa", "structure": "abd"}},
        {"format": 2},
    ],
)
def test_key_changes_with_each_input(change: dict[str, Any]) -> None:
    assert make_key(**change).digest() != make_key().digest()


def test_cache_root_default_and_override(tmp_path: Path) -> None:
    assert cache_root({}) == Path("~/.cache/plmprof/neuron").expanduser()
    assert cache_root({"PLMPROF_NEURON_CACHE": str(tmp_path)}) == tmp_path
    assert cache_root({"PLMPROF_NEURON_CACHE": "  "}) == cache_root({})


def test_weights_identity_random_follows_the_seed() -> None:
    assert weights_identity("random", 3, "facebook/esm2_t6_8M_UR50D") == "random:3"


def test_weights_identity_of_a_file_changes_with_content(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"x" * 10)
    first = weights_identity(str(weights), 0, "hub")
    assert first.startswith(f"path:{weights.resolve()}:10:")
    weights.write_bytes(b"x" * 11)
    assert weights_identity(str(weights), 0, "hub") != first
    os.utime(weights, ns=(1, 1))
    assert weights_identity(str(weights), 0, "hub").endswith(":11:1")


def test_weights_identity_of_a_directory_changes_with_any_file(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"abc")
    first = weights_identity(str(tmp_path), 0, "hub")
    (tmp_path / "model.safetensors").write_bytes(b"abcd")
    assert weights_identity(str(tmp_path), 0, "hub") != first


def test_weights_identity_of_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot read weights path"):
        weights_identity(str(tmp_path / "nope"), 0, "hub")


def test_weights_identity_of_the_hub_cache_names_the_model() -> None:
    assert weights_identity("cache", 0, "example/not-cached").startswith(
        "hf-cache:example/not-cached@"
    )


def test_structure_fingerprint_sees_pruned_layers() -> None:
    model = tiny_esm()
    before = structure_fingerprint(model)
    assert structure_fingerprint(tiny_esm(seed=1)) == before  # values do not matter, layout does
    del model.encoder.layer[1]
    assert structure_fingerprint(model) != before


class Doubler(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2


def test_store_then_load_round_trips_with_torch_jit(tmp_path: Path) -> None:
    cache = CompileCache(tmp_path)
    key = make_key()
    assert cache.load(key) == (None, None)
    path = cache.store(key, torch.jit.script(Doubler()))
    assert path == tmp_path / "esm2_t6_8M" / f"{key.digest()}.pt"
    assert path.with_suffix(".json").is_file()
    loaded, problem = cache.load(key)
    assert problem is None
    assert torch.equal(loaded(torch.ones(2)), torch.full((2,), 2.0))
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_failed_save_leaves_no_file_and_no_temporary(tmp_path: Path) -> None:
    def broken_saver(module: object, target: str) -> None:
        Path(target).write_bytes(b"half")
        raise OSError("disk full")

    cache = CompileCache(tmp_path, saver=broken_saver)
    with pytest.raises(OSError, match="disk full"):
        cache.store(make_key(), torch.jit.script(Doubler()))
    assert list((tmp_path / "esm2_t6_8M").iterdir()) == []


def test_unreadable_file_is_a_miss_with_a_reason(tmp_path: Path) -> None:
    cache = CompileCache(tmp_path)
    key = make_key()
    path = cache.path_for(key)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a torchscript archive")
    loaded, problem = cache.load(key)
    assert loaded is None
    assert problem is not None and "ignored unreadable cache file" in problem


def test_lock_is_exclusive_per_key_and_tolerates_an_unwritable_root(tmp_path: Path) -> None:
    cache = CompileCache(tmp_path)
    with cache.lock(make_key()), cache.lock(make_key(rows=1)):
        assert len(list((tmp_path / "locks").iterdir())) == 2
    blocked = tmp_path / "file"
    blocked.write_text("")
    with CompileCache(blocked / "below").lock(make_key()):
        pass  # no directory can be made under a file: no lock, no error


def test_key_is_a_frozen_record() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        make_key().rows = 1  # type: ignore[misc]
