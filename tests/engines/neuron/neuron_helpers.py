"""Helpers shared by the Neuron engine tests (not fixtures)."""

from __future__ import annotations

import torch
from transformers import EsmConfig, EsmModel

from engines.backends.neuron.buckets import plan_neuron_workload
from engines.catalog import ModelInfo, get_model_info
from engines.inputs import TensorBatch, to_tensors
from engines.spec import RunSpec
from tests.tiny_models import shrunk


def tiny_esm(attention: str = "eager", seed: int = 0) -> EsmModel:
    """A two-layer ESM-2-shaped model: small enough to trace in well under a second."""
    torch.manual_seed(seed)
    config = EsmConfig(
        vocab_size=33,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=1026,
        position_embedding_type="rotary",
        pad_token_id=1,
        mask_token_id=32,
        token_dropout=True,
        hidden_act="gelu",
        emb_layer_norm_before=False,
    )
    config._attn_implementation = attention
    return EsmModel(config, add_pooling_layer=False).eval()


TINY_ID = "neuron_tiny_esm"


def tiny_info() -> ModelInfo:
    """A catalog entry with ``tiny_esm``'s sizes (register it with the ``tiny_catalog`` fixture)."""
    return shrunk(
        "esm2_t6_8M",
        TINY_ID,
        num_hidden_layers=2,
        hidden_size=32,
        num_attention_heads=4,
        intermediate_size=64,
    )


def neuron_spec(**changes: object) -> RunSpec:
    """A small Neuron run: esm2_t6_8M, a few sequences in two buckets, batch 2."""
    base: dict[str, object] = {
        "model": "esm2_t6_8M",
        "device": "neuron",
        "seq_len": None,
        "lengths": "uniform:20-100",
        "num_sequences": 6,
        "batch_size": 2,
        "warmup": 1,
        "min_iters": 1,
        "max_iters": 4,
        "duration_s": 0.01,
    }
    base.update(changes)
    return RunSpec(**base)  # type: ignore[arg-type]


def planned_batches(spec: RunSpec) -> tuple[RunSpec, list[TensorBatch]]:
    """The spec with buckets filled in and its batches as CPU tensors."""
    bucketed, planned = plan_neuron_workload(spec, get_model_info(spec.model))
    return bucketed, to_tensors(planned, torch.device("cpu"))
