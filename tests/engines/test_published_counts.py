"""The catalog held against the parameter counts the models' authors publish: what runs here,
plus the parts the published figure includes and plmprof does not build, must match the figure
within its stated, explained rounding."""

from __future__ import annotations

import pytest
import torch
from transformers import (
    EsmConfig,
    EsmForMaskedLM,
    T5Config,
    T5EncoderModel,
    T5ForConditionalGeneration,
)

from engines.builders import instantiate, make_config
from engines.catalog import MODELS, PUBLISHED_COUNTS, esm_lm_head_params, t5_decoder_params
from engines.structure import run_parameters
from tests.engines.test_catalog_and_builders import TINY_ESM


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # tied weights once


@pytest.mark.parametrize("model_id", list(PUBLISHED_COUNTS))
def test_what_runs_matches_the_published_count(model_id: str) -> None:
    info = MODELS[model_id]
    published = PUBLISHED_COUNTS[model_id]
    with torch.device("meta"):
        model = instantiate(info, make_config(info))
    runs = run_parameters(model)
    accounted = runs + sum(count for _, count in published.not_built)
    off = (accounted - published.params) / published.params
    assert abs(off) <= published.tolerance, (
        f"{model_id}: runs {runs:,} + not built {accounted - runs:,} is {off:+.2%} from the "
        f"published {published.label}; allowed ±{published.tolerance:.1%} ({published.why})"
    )
    assert published.source and published.covers and published.why


def test_every_model_has_a_published_count_or_says_it_has_none() -> None:
    for info in MODELS.values():
        if info.published is None:
            assert any("published count UNVERIFIED" in n for n in info.notes), info.id


def test_the_not_built_parts_are_counted_as_transformers_builds_them() -> None:
    config = EsmConfig(**TINY_ESM.config)
    lm = EsmForMaskedLM(config)
    head = _count(lm) - _count(lm.esm)
    assert head == esm_lm_head_params(config.hidden_size, config.vocab_size)

    t5 = {**MODELS["prot_t5_xl_enc"].config, "d_model": 16, "d_ff": 32, "num_heads": 2}
    t5 |= {"d_kv": 8, "num_layers": 2, "is_encoder_decoder": True}
    whole = T5ForConditionalGeneration(T5Config(**t5))
    encoder = T5EncoderModel(T5Config(**t5))
    assert _count(whole) - _count(encoder) == t5_decoder_params(t5)
