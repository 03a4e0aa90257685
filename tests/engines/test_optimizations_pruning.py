"""Pruning: achieved sparsity, 2:4 masks, and exact parameter counts and FLOPs after structural
pruning of ESM, BERT, T5 and ProtST."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from engines.builders import build_model
from engines.catalog import ModelInfo
from engines.errors import UnsupportedError
from engines.optimizations import pruning
from engines.optimizations.targets import encoder_linears
from engines.structure import model_shape
from profilers.efficiency import flops_per_sequence
from tests.tiny_models import HEADS, HIDDEN, LAYERS, tiny_bert, tiny_esm, tiny_protst, tiny_t5


def _model(info: ModelInfo) -> nn.Module:
    return build_model(info, attention="eager").module


def _run(model: nn.Module, tokens: int = 20) -> torch.Tensor:
    ids = torch.randint(4, 20, (2, tokens), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids))
    return out if isinstance(out, torch.Tensor) else out.last_hidden_state


@pytest.mark.parametrize("target", [0.0, 0.3, 0.5, 0.9])
def test_unstructured_pruning_reaches_its_target_sparsity(target: float) -> None:
    model = _model(tiny_esm())
    report = pruning.prune_unstructured(model, target)
    zeros = sum(int((linear.weight == 0).sum()) for _, linear in encoder_linears(model))
    total = sum(linear.weight.numel() for _, linear in encoder_linears(model))
    assert report["layers"] == 6 * LAYERS
    assert report["zeros"] == zeros and report["weights"] == total
    assert abs(report["achieved_sparsity"] - target) <= 0.01
    assert "no speed-up" in report["note"]
    _run(model)


def test_unstructured_pruning_keeps_the_largest_weights() -> None:
    model = _model(tiny_esm())
    original = encoder_linears(model)[0][1].weight.detach().clone()
    pruning.prune_unstructured(model, 0.5)
    pruned = encoder_linears(model)[0][1].weight.detach()
    removed = original[pruned == 0].abs()
    kept = original[pruned != 0].abs()
    assert removed.max() <= kept.min()


def test_two_four_mask_keeps_two_of_every_four() -> None:
    model = _model(tiny_esm())
    report = pruning.mask_2_4(model)
    assert report["layers"] == 6 * LAYERS and report["layers_skipped"] == 0
    assert report["achieved_sparsity"] == pytest.approx(0.5)
    for _, linear in encoder_linears(model):
        groups = linear.weight.detach().reshape(-1, 4)
        assert ((groups != 0).sum(dim=1) <= 2).all()


def test_two_four_conversion_refuses_the_cpu() -> None:
    with pytest.raises(UnsupportedError, match="needs a CUDA GPU"):
        pruning.to_semi_structured(_model(tiny_esm()), torch.device("cpu"))


@pytest.mark.cuda
def test_two_four_on_cuda_converts_and_runs() -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA: 2:4 semi-structured sparsity")
    if torch.cuda.get_device_capability()[0] < 8:
        pytest.skip("needs CUDA: compute capability 8.0 or newer")
    info = tiny_esm(hidden=128, heads=4)
    built = build_model(info, attention="eager", device="cuda", dtype=torch.float16)
    pruning.mask_2_4(built.module)
    report = pruning.to_semi_structured(built.module, torch.device("cuda"))
    assert report["layers_converted"] > 0
    ids = torch.randint(4, 20, (8, 64), device="cuda")
    with torch.inference_mode():
        built.module(input_ids=ids, attention_mask=torch.ones_like(ids))


def _expected_after_layer_drop(info: ModelInfo, removed: int) -> int:
    """Parameters of a fresh build with fewer layers: what dropping layers must give."""
    key = "num_layers" if "num_layers" in info.config else "num_hidden_layers"
    smaller = dataclasses.replace(info, config={**info.config, key: info.config[key] - removed})
    return model_shape(_model(smaller)).parameters


@pytest.mark.parametrize("make", [tiny_esm, tiny_bert, tiny_t5, tiny_protst])
def test_dropping_layers_matches_a_smaller_build(make: object) -> None:
    info = make()  # type: ignore[operator]
    model = _model(info)
    report = pruning.drop_layers(model, 1)
    assert report == {"removed": 1, "layers_before": 2, "layers_after": 1, "which": "last"}
    shape = model_shape(model)
    assert shape.parameters == _expected_after_layer_drop(info, 1)
    assert len(shape.attn_dims) == LAYERS - 1
    _run(model)


@pytest.mark.parametrize("count", [0, LAYERS, LAYERS + 3])
def test_dropping_every_layer_is_refused(count: int) -> None:
    with pytest.raises(UnsupportedError, match="at least one must remain"):
        pruning.drop_layers(_model(tiny_esm()), count)


def _head_params(info: ModelInfo, head_dim: int, removed: int, layers: int) -> int:
    """Weights and biases that removing ``removed`` heads per layer takes out."""
    hidden = info.config.get("hidden_size", info.config.get("d_model"))
    width = removed * head_dim
    has_bias = "num_hidden_layers" in info.config  # ESM and BERT projections have biases; T5 not
    qkv = 3 * (width * hidden + (width if has_bias else 0))
    out = hidden * width
    return layers * (qkv + out)


def test_dropping_heads_esm_counts_and_flops_are_exact() -> None:
    info = tiny_esm()
    model = _model(info)
    before = model_shape(model)
    report = pruning.drop_heads(model, 1)
    head_dim = HIDDEN // HEADS
    assert report["heads_before"] == HEADS and report["heads_after"] == HEADS - 1
    assert len(report["removed_heads"]) == 1
    shape = model_shape(model)
    contact = LAYERS * 1  # the contact head reads one attention map per (layer, head)
    assert shape.parameters == before.parameters - _head_params(info, head_dim, 1, LAYERS) - contact
    assert shape.attn_dims == ((HEADS - 1) * head_dim,) * LAYERS
    # Hand count: per layer Q, K, V (d x 48), O (48 x d) and the 64 -> 128 -> 64 feed-forward.
    width = (HEADS - 1) * head_dim
    linear = LAYERS * (4 * HIDDEN * width + 2 * HIDDEN * 2 * HIDDEN)
    assert shape.token_linear_params == linear == 2 * (4 * 64 * 48 + 2 * 64 * 128)
    tokens = 130
    expected = 2 * linear * tokens + 4 * LAYERS * width * tokens**2
    assert flops_per_sequence(shape.token_linear_params, shape.attn_dims, tokens) == expected
    assert expected == 2 * 57_344 * 130 + 4 * 2 * 48 * 130**2
    assert _run(model).shape[-1] == HIDDEN


def test_dropping_heads_t5_slices_the_shared_position_bias() -> None:
    info = tiny_t5()
    model = _model(info)
    before = model_shape(model)
    report = pruning.drop_heads(model, 2)
    head_dim = int(info.config["d_kv"])
    bias = model.encoder.block[0].layer[0].SelfAttention.relative_attention_bias
    assert bias.weight.shape[1] == HEADS - 2
    buckets = int(info.config["relative_attention_num_buckets"])
    removed = _head_params(info, head_dim, 2, LAYERS) + 2 * buckets
    assert model_shape(model).parameters == before.parameters - removed
    assert model_shape(model).attn_dims == ((HEADS - 2) * head_dim,) * LAYERS
    assert report["heads_after"] == HEADS - 2
    _run(model)


@pytest.mark.parametrize("make", [tiny_bert, tiny_protst])
def test_dropping_heads_bert_and_protst(make: object) -> None:
    info = make()  # type: ignore[operator]
    model = _model(info)
    before = model_shape(model)
    pruning.drop_heads(model, 3)
    head_dim = HIDDEN // HEADS
    contact = LAYERS * 3 if make is tiny_protst else 0
    removed = _head_params(info, head_dim, 3, LAYERS) + contact
    assert model_shape(model).parameters == before.parameters - removed
    assert model_shape(model).attn_dims == (head_dim,) * LAYERS
    _run(model)


@pytest.mark.parametrize("count", [0, HEADS])
def test_dropping_every_head_is_refused(count: int) -> None:
    with pytest.raises(UnsupportedError, match="at least one must remain"):
        pruning.drop_heads(_model(tiny_esm()), count)


def test_layers_then_heads_together() -> None:
    info = tiny_esm(layers=3)
    model = _model(info)
    pruning.drop_layers(model, 1)
    pruning.drop_heads(model, 2)
    shape = model_shape(model)
    head_dim = HIDDEN // HEADS
    smaller = _expected_after_layer_drop(info, 1)
    removed = _head_params(info, head_dim, 2, 2) + 2 * 2
    assert shape.parameters == smaller - removed
    assert shape.attn_dims == (2 * head_dim, 2 * head_dim)
    assert model.contact_head.regression.in_features == 2 * (HEADS - 2)
    _run(model)
