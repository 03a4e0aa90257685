"""The model zoo as data: every supported pLM's architecture, hub id and tokenizer.

Figures come from each model's published configuration and model card; a value not checked
against the published configuration carries an UNVERIFIED note. Nothing here touches torch;
:mod:`engines.builders` turns an entry into a model.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from engines.errors import UnknownModelError


class Family(StrEnum):
    ESM = "esm"
    PROTST = "protst"
    BERT = "bert"
    T5_ENCODER = "t5-encoder"


@dataclass(frozen=True)
class ModelInfo:
    """One catalog entry.

    ``config`` holds the keyword arguments of the transformers config class named by ``hf_class``'s
    family; ``expected_params`` is the parameter count of the encoder as built here from the
    published configuration (no pooler, no language-model head; ESM's contact head included,
    though the forward never runs it); the built model must match it. It is not the rounded
    figure in a model's name (ESM-2 "8M" counts the LM head too).
    """

    id: str
    hub_id: str
    family: Family
    hf_class: str
    config: dict[str, Any]
    max_residues: int | None
    tokenizer: str
    expected_params: int
    notes: tuple[str, ...] = field(default=())

    @property
    def unverified(self) -> bool:
        return any("UNVERIFIED" in note for note in self.notes)


_ESM_COMMON: dict[str, Any] = {
    "vocab_size": 33,
    "max_position_embeddings": 1026,
    "layer_norm_eps": 1e-5,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
    "pad_token_id": 1,
    "mask_token_id": 32,
    "hidden_act": "gelu",
    "token_dropout": True,
}


def _esm2(layers: int, hidden: int, heads: int) -> dict[str, Any]:
    return {
        **_ESM_COMMON,
        "num_hidden_layers": layers,
        "hidden_size": hidden,
        "num_attention_heads": heads,
        "intermediate_size": 4 * hidden,
        "position_embedding_type": "rotary",
        "emb_layer_norm_before": False,
    }


_ESM1B: dict[str, Any] = {
    **_ESM_COMMON,
    "num_hidden_layers": 33,
    "hidden_size": 1280,
    "num_attention_heads": 20,
    "intermediate_size": 5120,
    "position_embedding_type": "absolute",
    "emb_layer_norm_before": True,
}

_PROTBERT: dict[str, Any] = {
    "vocab_size": 30,
    "hidden_size": 1024,
    "num_hidden_layers": 30,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "max_position_embeddings": 40000,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
}


def _t5(d_model: int, d_ff: int, heads: int, d_kv: int, vocab: int, **extra: Any) -> dict[str, Any]:
    return {
        "vocab_size": vocab,
        "d_model": d_model,
        "d_ff": d_ff,
        "d_kv": d_kv,
        "num_heads": heads,
        "num_layers": extra.pop("num_layers"),
        "dropout_rate": 0.0,
        "pad_token_id": 0,
        "eos_token_id": 1,
        "decoder_start_token_id": 0,
        "is_encoder_decoder": False,
        "use_cache": False,
        **extra,
    }


_ESM_MAX = 1022
_ESM_NOTE = "ESM-2: rotary positions, pre-LayerNorm; erf gelu"
MODELS: dict[str, ModelInfo] = {
    info.id: info
    for info in (
        ModelInfo(
            "esm2_t6_8M",
            "facebook/esm2_t6_8M_UR50D",
            Family.ESM,
            "EsmModel",
            _esm2(6, 320, 20),
            _ESM_MAX,
            "esm",
            7_409_081,
            (_ESM_NOTE,),
        ),
        ModelInfo(
            "esm2_t12_35M",
            "facebook/esm2_t12_35M_UR50D",
            Family.ESM,
            "EsmModel",
            _esm2(12, 480, 20),
            _ESM_MAX,
            "esm",
            33_269_521,
            (_ESM_NOTE, "head count 20 UNVERIFIED"),
        ),
        ModelInfo(
            "esm2_t30_150M",
            "facebook/esm2_t30_150M_UR50D",
            Family.ESM,
            "EsmModel",
            _esm2(30, 640, 20),
            _ESM_MAX,
            "esm",
            147_728_601,
            (_ESM_NOTE,),
        ),
        ModelInfo(
            "esm2_t33_650M",
            "facebook/esm2_t33_650M_UR50D",
            Family.ESM,
            "EsmModel",
            _esm2(33, 1280, 20),
            _ESM_MAX,
            "esm",
            649_400_981,
            (_ESM_NOTE,),
        ),
        ModelInfo(
            "esm2_t36_3B",
            "facebook/esm2_t36_3B_UR50D",
            Family.ESM,
            "EsmModel",
            _esm2(36, 2560, 40),
            _ESM_MAX,
            "esm",
            2_832_444_321,
            (_ESM_NOTE,),
        ),
        ModelInfo(
            "esm2_t48_15B",
            "facebook/esm2_t48_15B_UR50D",
            Family.ESM,
            "EsmModel",
            _esm2(48, 5120, 40),
            _ESM_MAX,
            "esm",
            15_102_870_401,
            (_ESM_NOTE, "needs about 60 GB in fp32"),
        ),
        ModelInfo(
            "esm1b_t33_650M",
            "facebook/esm1b_t33_650M_UR50S",
            Family.ESM,
            "EsmModel",
            _ESM1B,
            _ESM_MAX,
            "esm",
            650_716_821,
            ("ESM-1b: learned absolute positions, LayerNorm before the encoder",),
        ),
        ModelInfo(
            "protst_esm1b",
            "mila-intel/protst-esm1b-for-sequential-classification",
            Family.PROTST,
            "EsmModel",
            {**_ESM1B, "num_labels": 2},
            _ESM_MAX,
            "esm",
            650_716_821 + 1_642_242,
            (
                "ESM-1b backbone + masked mean pooling + Linear-ReLU-Linear head",
                "masking inside the original remote code UNVERIFIED",
            ),
        ),
        ModelInfo(
            "prot_bert",
            "Rostlab/prot_bert",
            Family.BERT,
            "BertModel",
            _PROTBERT,
            40_000 - 2,
            "protbert",
            419_931_136,
            ("with pooler; post-LayerNorm",),
        ),
        ModelInfo(
            "prot_bert_bfd",
            "Rostlab/prot_bert_bfd",
            Family.BERT,
            "BertModel",
            _PROTBERT,
            40_000 - 2,
            "protbert",
            419_931_136,
            ("with pooler; post-LayerNorm",),
        ),
        ModelInfo(
            "prot_t5_xl_enc",
            "Rostlab/prot_t5_xl_half_uniref50-enc",
            Family.T5_ENCODER,
            "T5EncoderModel",
            _t5(
                1024,
                16384,
                32,
                128,
                128,
                num_layers=24,
                feed_forward_proj="relu",
                relative_attention_num_buckets=32,
                layer_norm_epsilon=1e-6,
            ),
            None,
            "prott5",
            1_208_141_824,
            ("relative positions: no fixed window", "config values UNVERIFIED"),
        ),
        ModelInfo(
            "ankh_base",
            "ElnaggarLab/ankh-base",
            Family.T5_ENCODER,
            "T5EncoderModel",
            _t5(
                768,
                3072,
                12,
                64,
                144,
                num_layers=48,
                feed_forward_proj="gated-gelu",
                relative_attention_num_buckets=64,
                relative_attention_max_distance=128,
                layer_norm_epsilon=1e-6,
            ),
            None,
            "ankh",
            453_170_688,
            ("gated-gelu feed-forward", "tokenizer id layout UNVERIFIED"),
        ),
        ModelInfo(
            "ankh_large",
            "ElnaggarLab/ankh-large",
            Family.T5_ENCODER,
            "T5EncoderModel",
            _t5(
                1536,
                3840,
                16,
                64,
                144,
                num_layers=48,
                feed_forward_proj="gated-gelu",
                relative_attention_num_buckets=64,
                relative_attention_max_distance=128,
                layer_norm_epsilon=1e-6,
            ),
            None,
            "ankh",
            1_151_707_648,
            ("gated-gelu feed-forward", "heads and d_ff UNVERIFIED"),
        ),
    )
}

DEFAULT_MODEL = "esm2_t6_8M"


def get_model_info(model_id: str) -> ModelInfo:
    """The catalog entry for ``model_id`` (a local Hugging Face model directory's, when it is a
    path), or an error that suggests the nearest ids."""
    if model_id not in MODELS:
        from engines.local_model import is_local_model, local_model_info

        if is_local_model(model_id):
            return local_model_info(model_id)
    try:
        return MODELS[model_id]
    except KeyError:
        close = difflib.get_close_matches(model_id, list(MODELS), n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"unknown model '{model_id}'.{hint} Known models: {', '.join(MODELS)}"
        ) from None
