"""A local Hugging Face model directory (``--model ./dir``) runs as a catalog model does, its
architecture read from the directory's config.json. The directories are tiny random models saved
with ``save_pretrained``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import BertConfig, BertModel, EsmConfig, EsmModel, T5Config, T5EncoderModel

from engines.builders import build_model, count_parameters
from engines.catalog import MODELS, Family, get_model_info
from engines.errors import InvalidInputError
from engines.spec import RunSpec
from tests.tiny_models import ENCODER_SIZES

ESM_VOCAB = MODELS["esm2_t6_8M"].config["vocab_size"]
BERT_VOCAB = MODELS["prot_bert"].config["vocab_size"]
T5_VOCAB = MODELS["prot_t5_xl_enc"].config["vocab_size"]


def save_esm(folder: Path, layers: int = 2) -> Path:
    config = EsmConfig(
        **{**ENCODER_SIZES, "num_hidden_layers": layers},
        vocab_size=ESM_VOCAB,
        pad_token_id=1,
        mask_token_id=32,
        max_position_embeddings=130,
        position_embedding_type="rotary",
    )
    EsmModel(config, add_pooling_layer=False).save_pretrained(folder)
    return folder


def test_each_architecture_is_read_from_its_config(tmp_path: Path) -> None:
    esm = save_esm(tmp_path / "esm")
    bert = tmp_path / "bert"
    BertModel(BertConfig(**ENCODER_SIZES, vocab_size=BERT_VOCAB)).save_pretrained(bert)
    t5 = tmp_path / "t5"
    T5EncoderModel(
        T5Config(d_model=64, d_ff=128, num_heads=4, d_kv=16, num_layers=2, vocab_size=T5_VOCAB)
    ).save_pretrained(t5)
    for folder, family, tokenizer in (
        (esm, Family.ESM, "esm"),
        (bert, Family.BERT, "protbert"),
        (t5, Family.T5_ENCODER, MODELS["prot_t5_xl_enc"].tokenizer),
    ):
        info = get_model_info(str(folder))
        assert (info.id, info.family, info.tokenizer) == (str(folder), family, tokenizer)
        assert info.expected_params == count_parameters(info) > 0
    assert get_model_info(str(esm)).max_residues == 128  # 130 positions less <cls> and <eos>
    assert get_model_info(str(esm)).config["num_hidden_layers"] == 2


def test_its_weights_load_and_match_the_saved_model(tmp_path: Path) -> None:
    folder = save_esm(tmp_path / "esm")
    info = get_model_info(str(folder))
    built = build_model(info, weights=str(folder))
    saved = EsmModel.from_pretrained(folder, add_pooling_layer=False)
    ours, theirs = built.module.state_dict(), saved.state_dict()
    name = "encoder.layer.1.attention.self.query.weight"
    assert ours[name].equal(theirs[name])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"model_type": "llama", "vocab_size": 32000}, "holds a llama model; plmprof runs"),
        ({"vocab_size": 33}, "holds a config without a model_type model"),
        ({"model_type": "esm", "vocab_size": 99}, "no built-in tokenizer for a esm vocabulary"),
    ],
)
def test_an_unknown_architecture_is_refused_naming_it(
    tmp_path: Path, content: dict[str, object], message: str
) -> None:
    (tmp_path / "config.json").write_text(json.dumps(content))
    with pytest.raises(InvalidInputError, match=message):
        RunSpec(model=str(tmp_path))


def test_a_path_that_is_no_model_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"model directory .*missing. does not exist"):
        get_model_info(str(tmp_path / "missing"))
    with pytest.raises(InvalidInputError, match=r"has no config\.json"):
        get_model_info(str(tmp_path))


def _cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100"}
    command = [str(Path(sys.executable).parent / "plmprof"), *argv]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_cli_runs_a_local_directory_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    save_esm(tmp_path / "my-esm-finetune")
    (tmp_path / "llama").mkdir()
    (tmp_path / "llama" / "config.json").write_text('{"model_type": "llama"}')
    ran = _cli(
        "run", "-m", "./my-esm-finetune", "--weights", "./my-esm-finetune", "--seq-len", "16",
        "--warmup", "1", "--duration", "0.1", "--min-iters", "2", "-o", "out.json",
        cwd=tmp_path,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-2000:]
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["status"] == "ok"
    assert result["model"]["id"] == "./my-esm-finetune"
    assert result["model"]["family"] == "esm"
    assert result["throughput"]["sequences_per_s"] > 0
    refused = _cli("run", "-m", "./llama", "--seq-len", "16", cwd=tmp_path)
    assert refused.returncode == 2
    assert "holds a llama model" in refused.stderr
    assert "Traceback" not in refused.stderr
