"""The model zoo: parameter counts from the architecture, fast correct random weights, and
local real weights that load to identical outputs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from engines.builders import build_model, count_parameters, fill_random_, probe_attention
from engines.catalog import MODELS, get_model_info
from engines.errors import InvalidInputError, UnknownModelError
from engines.structure import model_shape

TINY_ESM = dataclasses.replace(
    MODELS["esm2_t6_8M"],
    id="tiny_esm",
    config={
        **MODELS["esm2_t6_8M"].config,
        "num_hidden_layers": 2,
        "hidden_size": 32,
        "num_attention_heads": 4,
        "intermediate_size": 64,
    },
)


@pytest.mark.parametrize("model_id", list(MODELS))
def test_parameter_counts_match_the_published_table(model_id: str) -> None:
    info = MODELS[model_id]
    counted = count_parameters(info)
    assert abs(counted - info.expected_params) / info.expected_params <= 0.001
    assert counted == info.expected_params  # exact, in fact


def test_unknown_model_suggests_the_nearest_ids() -> None:
    with pytest.raises(UnknownModelError, match="Did you mean esm2_t6_8M"):
        get_model_info("esm2_t6_8m")


def test_random_build_recomputes_buffers_and_fills_finite_values() -> None:
    built = build_model(MODELS["esm2_t6_8M"], attention="eager")
    model = built.module
    inv_freq = model.rotary_embeddings.inv_freq
    expected = 1.0 / (10000 ** (torch.arange(0, 16, 2, dtype=torch.float32) / 16))
    torch.testing.assert_close(inv_freq, expected)
    assert torch.equal(model.embeddings.position_ids[0, :5], torch.arange(5))
    for name, param in model.named_parameters():
        assert torch.isfinite(param).all(), name
        if "LayerNorm.weight" in name:
            assert torch.all(param == 1.0), name
    weights = model.encoder.layer[0].attention.self.query.weight
    assert 0.015 < weights.std().item() < 0.025
    assert model.training is False


def test_random_weights_are_deterministic_for_a_seed() -> None:
    first = build_model(TINY_ESM, seed=3).module
    second = build_model(TINY_ESM, seed=3).module
    other = build_model(TINY_ESM, seed=4).module
    for (name, a), b, c in zip(
        first.state_dict().items(),
        second.state_dict().values(),
        other.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b), name
        if "word_embeddings" in name:
            assert not torch.equal(a, c)


def test_fill_random_never_leaves_denormals_or_nans() -> None:
    model = torch.nn.Linear(300, 300)
    with torch.no_grad():
        model.weight.fill_(float("nan"))
    fill_random_(model, seed=0)
    assert torch.isfinite(model.weight).all()
    assert (model.weight.abs() > 1e-30).float().mean() > 0.99


def test_saved_transformers_directory_loads_to_identical_outputs(tmp_path: Path) -> None:
    reference = build_model(TINY_ESM, attention="eager", seed=11).module
    reference.save_pretrained(tmp_path / "tiny")
    loaded = build_model(TINY_ESM, weights=str(tmp_path / "tiny"), attention="eager")
    assert loaded.weights == str(tmp_path / "tiny")
    ids = torch.tensor([[0, 20, 15, 11, 5, 2, 1]])
    mask = (ids != 1).long()
    with torch.inference_mode():
        want = reference(input_ids=ids, attention_mask=mask).last_hidden_state
        got = loaded.module(input_ids=ids, attention_mask=mask).last_hidden_state
    assert torch.equal(want, got)


def test_safetensors_file_loads_and_pickles_are_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    reference = build_model(TINY_ESM, attention="eager", seed=5).module
    state = {f"esm.{k}": v.contiguous() for k, v in reference.state_dict().items()}
    save_file(state, tmp_path / "model.safetensors")
    loaded = build_model(TINY_ESM, weights=str(tmp_path / "model.safetensors"), attention="eager")
    for name, value in reference.state_dict().items():
        assert torch.equal(value, loaded.module.state_dict()[name]), name
    (tmp_path / "model.bin").write_bytes(b"not a pickle we would ever open")
    with pytest.raises(InvalidInputError, match=r"not a \.safetensors file"):
        build_model(TINY_ESM, weights=str(tmp_path / "model.bin"))
    with pytest.raises(InvalidInputError, match="does not exist"):
        build_model(TINY_ESM, weights=str(tmp_path / "missing"))


def test_missing_hub_cache_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InvalidInputError, match="never downloads"):
        build_model(MODELS["esm2_t6_8M"], weights="cache")


def test_attention_probe_falls_back_visibly() -> None:
    used, note = probe_attention(MODELS["esm2_t6_8M"], "flash_attention_2")
    assert used == "eager"
    assert note is not None and "flash_attention_2" in note
    assert probe_attention(MODELS["esm2_t6_8M"], "sdpa") == ("sdpa", None)


def test_model_shape_counts_what_the_forward_runs() -> None:
    shape = model_shape(build_model(MODELS["esm2_t6_8M"]).module)
    assert shape.token_linear_params == 6 * 12 * 320 * 320  # measurement.md's N
    assert shape.attn_dims == (320,) * 6
    assert shape.sequence_linear_params == 0
    with torch.device("meta"):
        from engines.builders import instantiate, make_config

        bert = instantiate(MODELS["prot_bert"], make_config(MODELS["prot_bert"]))
        t5 = instantiate(MODELS["prot_t5_xl_enc"], make_config(MODELS["prot_t5_xl_enc"]))
    assert model_shape(bert).sequence_linear_params == 1024 * 1024  # the pooler, once per sequence
    assert model_shape(t5).attn_dims == (4096,) * 24  # 32 heads x d_kv 128


def test_built_t5_ties_its_embeddings_as_the_count_does() -> None:
    tiny_t5 = dataclasses.replace(
        MODELS["prot_t5_xl_enc"],
        config={
            **MODELS["prot_t5_xl_enc"].config,
            "num_layers": 1,
            "d_ff": 64,
            "d_model": 32,
            "num_heads": 2,
            "d_kv": 8,
        },
    )
    model = build_model(tiny_t5).module
    assert model.shared.weight is model.encoder.embed_tokens.weight
    assert sum(p.numel() for p in model.parameters()) == count_parameters(tiny_t5)
