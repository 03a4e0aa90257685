"""The ESM gelu swap: same outputs, same state dict, and no aten::erf left in a traced graph."""

from __future__ import annotations

import warnings

import pytest
import torch
from neuron_helpers import tiny_esm
from torch import nn
from transformers import BertConfig, BertModel

from engines.backends.neuron.gelu import (
    FunctionalGeluIntermediate,
    graph_has_erf,
    graph_text,
    swap_erf_gelu,
)
from engines.builders import build_model
from engines.catalog import get_model_info
from engines.protst import ProtSTClassifier


class LastHidden(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        return out


def jit_trace(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.trace(LastHidden(model).eval(), (ids, mask), check_trace=False)


def inputs(rows: int = 2, tokens: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(4, 24, (rows, tokens), generator=generator)
    mask = torch.ones(rows, tokens, dtype=torch.long)
    mask[1, tokens // 2 :] = 0
    return ids, mask


def test_swap_keeps_outputs_and_state_dict() -> None:
    model = tiny_esm()
    ids, mask = inputs()
    keys = list(model.state_dict())
    with torch.no_grad():
        before = model(input_ids=ids, attention_mask=mask).last_hidden_state
        assert swap_erf_gelu(model) == 2
        after = model(input_ids=ids, attention_mask=mask).last_hidden_state
    assert list(model.state_dict()) == keys
    assert all(
        isinstance(layer.intermediate, FunctionalGeluIntermediate) for layer in model.encoder.layer
    )
    assert (before - after).abs().max().item() < 1e-5


def test_no_erf_in_the_traced_graph_after_the_swap() -> None:
    model = tiny_esm()
    ids, mask = inputs()
    assert graph_has_erf(jit_trace(model, ids, mask))  # the stock transformers ESM uses erf
    swap_erf_gelu(model)
    traced = jit_trace(model, ids, mask)
    assert not graph_has_erf(traced)
    assert "aten::gelu" in graph_text(traced)


def test_catalog_esm2_model_swaps_every_layer_and_matches() -> None:
    built = build_model(get_model_info("esm2_t6_8M"), attention="sdpa")
    model = built.module
    ids, mask = inputs(2, 40)
    with torch.no_grad():
        before = model(input_ids=ids, attention_mask=mask).last_hidden_state
        assert swap_erf_gelu(model) == 6
        after = model(input_ids=ids, attention_mask=mask).last_hidden_state
    assert (before - after).abs().max().item() < 1e-4
    assert not graph_has_erf(jit_trace(model, ids, mask))


def test_swap_reaches_the_esm_inside_protst() -> None:
    config = tiny_esm().config
    config.num_labels = 2
    model = ProtSTClassifier(config)
    assert swap_erf_gelu(model) == 2
    assert swap_erf_gelu(model) == 0  # already swapped: idempotent


def test_other_families_are_left_alone_and_have_no_erf() -> None:
    config = BertConfig(
        vocab_size=30,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=4,
        intermediate_size=64,
        hidden_act="gelu",
    )
    model = BertModel(config).eval()
    assert swap_erf_gelu(model) == 0
    ids, mask = inputs()
    assert not graph_has_erf(jit_trace(model, ids, mask))


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_swap_works_for_both_attention_paths(attention: str) -> None:
    model = tiny_esm(attention)
    swap_erf_gelu(model)
    ids, mask = inputs()
    assert not graph_has_erf(jit_trace(model, ids, mask))
