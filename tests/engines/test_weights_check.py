"""``--weights``: a source of another architecture or size is refused before anything runs, naming
both; every weight-loading problem the preflight can see exits 2 with its whole message."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest
from safetensors.torch import save_file
from transformers import BertConfig, EsmConfig

from engines.builders import build_model
from engines.catalog import MODELS
from engines.errors import InvalidInputError
from engines.weights import check_weights
from tests.tiny_models import tiny_esm
from tui.cli import invoke

ESM8M = MODELS["esm2_t6_8M"]
TINY_ESM = tiny_esm()


def _refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, weights: Path | str) -> str:
    code = invoke(["run", "--weights", str(weights), "--results-dir", str(tmp_path / "results")])
    captured = capsys.readouterr()
    text = " ".join((captured.err + captured.out).split())
    assert code == 2, text
    assert "Traceback" not in text
    assert not (tmp_path / "results").exists()
    return text


def test_a_bert_directory_is_not_measured_as_esm2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bert = tmp_path / "bert"
    BertConfig(num_hidden_layers=2, hidden_size=128, num_attention_heads=2).save_pretrained(bert)
    text = _refused(capsys, tmp_path, bert)
    assert f"the weights in '{bert}' are bert (layers 2, hidden 128, heads 2, ffn 3072" in text
    assert "not esm2_t6_8M: esm (layers 6, hidden 320, heads 20, ffn 1280, vocab 33)" in text


def test_an_esm_directory_of_another_size_is_refused(tmp_path: Path) -> None:
    small = tmp_path / "small"
    EsmConfig(
        vocab_size=33, num_hidden_layers=2, hidden_size=64, num_attention_heads=4,
        intermediate_size=128,
    ).save_pretrained(small)  # fmt: skip
    with pytest.raises(InvalidInputError, match=r"are esm \(layers 2, hidden 64.*not esm2_t6_8M"):
        check_weights(ESM8M, str(small))


def test_the_matching_directory_passes_and_loads(tmp_path: Path) -> None:
    build_model(TINY_ESM, attention="eager").module.save_pretrained(tmp_path / "tiny")
    check_weights(TINY_ESM, str(tmp_path / "tiny"))
    with pytest.raises(InvalidInputError, match="not esm2_t6_8M"):
        check_weights(ESM8M, str(tmp_path / "tiny"))


def test_a_safetensors_file_of_other_shapes_is_refused_before_the_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    narrow = build_model(tiny_esm(layers=6), attention="eager").module  # every name, other widths
    path = tmp_path / "narrow.safetensors"
    save_file({f"esm.{k}": v.contiguous() for k, v in narrow.state_dict().items()}, str(path))
    text = _refused(capsys, tmp_path, path)
    assert f"'{path}' does not match esm2_t6_8M:" in text
    assert re.search(
        r"\d+ tensors have other shapes \(e\.g\. [\w.]+: \[[\d, ]+\] in the file, "
        r"\[[\d, ]+\] in esm2_t6_8M\)",
        text,
    )
    shallow = build_model(TINY_ESM, attention="eager").module
    save_file({k: v.contiguous() for k, v in shallow.state_dict().items()}, str(path))
    assert "tensors missing (e.g. encoder.layer.2." in _refused(capsys, tmp_path, path)


def test_an_unreadable_safetensors_header_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "broken.safetensors"
    path.write_bytes(struct.pack("<Q", 20) + b"{not json at all....")
    text = _refused(capsys, tmp_path, path)
    assert f"'{path}' is not a readable safetensors file" in text


def test_a_directory_without_config_and_a_config_that_is_not_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert f"weights directory '{empty}' has no config.json" in _refused(capsys, tmp_path, empty)
    (empty / "config.json").write_text("{")
    assert "cannot read" in _refused(capsys, tmp_path, empty)
    (empty / "config.json").write_text(json.dumps([1, 2]))
    assert "is not a model config" in _refused(capsys, tmp_path, empty)


def test_cache_without_the_model_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    text = _refused(capsys, tmp_path, "cache")
    assert "facebook/esm2_t6_8M_UR50D is not in the local Hugging Face cache" in text
