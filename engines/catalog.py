"""The model zoo as data: every supported pLM's architecture, hub id and tokenizer.

Figures come from each model's published configuration and model card; a value not checked
against the published configuration carries an UNVERIFIED note. Nothing here touches torch;
:mod:`engines.builders` turns an entry into a model.

Size: over 400 lines because it is data (one entry per model, with its published parameter count
and source), not logic.
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
    published configuration (no language-model head, a pooler only for ProtBERT; ESM's contact
    head included, though the forward never runs it); the built model must match it. It is not
    the rounded figure in a model's name (ESM-2 "8M" counts the LM head too): ``published``
    holds that figure, its source and the parts it counts that are not built here.
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

    @property
    def published(self) -> PublishedCount | None:
        """The count the model's authors publish, or None where none could be confirmed."""
        return PUBLISHED_COUNTS.get(self.id)


@dataclass(frozen=True)
class PublishedCount:
    """A parameter count as the model's authors publish it, and what separates it from the
    parameters plmprof runs (``engines.structure.run_parameters``).

    ``not_built`` lists the parts the published figure includes that plmprof neither builds nor
    runs (an LM head, a decoder), each with its count from the configuration. The published
    figure is rounded by its authors: run + not built must lie within ``tolerance`` (relative)
    of it, for the reason ``why`` gives. A source not checked here says UNVERIFIED.
    """

    params: int
    covers: str
    source: str
    not_built: tuple[tuple[str, int], ...]
    tolerance: float
    why: str

    @property
    def unverified(self) -> bool:
        return "UNVERIFIED" in self.source

    @property
    def label(self) -> str:
        """The figure as its authors write it ("8M", "3B")."""
        for scale, suffix in ((10**9, "B"), (10**6, "M")):
            if self.params >= scale:
                return f"{self.params / scale:g}{suffix}"
        return f"{self.params:,}"


def esm_lm_head_params(hidden: int, vocab: int) -> int:
    """ESM's masked-LM head: dense d×d + bias, LayerNorm, output bias (its weight is the tied
    token embedding, counted once already)."""
    return hidden * hidden + hidden + 2 * hidden + vocab


def t5_decoder_params(config: dict[str, Any]) -> int:
    """A T5 decoder stack of ``num_layers`` blocks, as in the encoder-decoder checkpoint:
    self-attention, cross-attention, feed-forward, three layer norms per block, the relative
    position table and a final norm (embeddings shared and the LM head tied, so not counted)."""
    d, inner = config["d_model"], config["num_heads"] * config["d_kv"]
    ffn_mats = 3 if config.get("feed_forward_proj", "relu").startswith("gated") else 2
    block = 2 * 4 * d * inner + ffn_mats * d * config["d_ff"] + 3 * d
    buckets = config.get("relative_attention_num_buckets", 32) * config["num_heads"]
    return config["num_layers"] * block + buckets + d


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
_ANKH_COUNT = "published count UNVERIFIED"
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
            ("gated-gelu feed-forward", "tokenizer id layout UNVERIFIED", _ANKH_COUNT),
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
            ("gated-gelu feed-forward", "heads and d_ff UNVERIFIED", _ANKH_COUNT),
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


_FAIR_ESM = "fair-esm README, table of pre-trained models (the figure in the model's name)"
_ESM_COVERS = "the released EsmForMaskedLM: encoder and masked-LM head"


def _esm_published(model_id: str, params: int, tolerance: float, why: str) -> PublishedCount:
    hidden = MODELS[model_id].config["hidden_size"]
    return PublishedCount(
        params,
        _ESM_COVERS,
        _FAIR_ESM,
        (("masked-LM head", esm_lm_head_params(hidden, 33)),),
        tolerance,
        why,
    )


_PROTTRANS = (
    "ProtTrans paper (Elnaggar et al., IEEE TPAMI 2022), model table "
    "(UNVERIFIED: not checked against the paper here)"
)
_PROTBERT_PUBLISHED = PublishedCount(
    420_000_000,
    "the encoder with pooler",
    _PROTTRANS,
    (),
    0.001,
    "rounded to 10M; the BERT pooler is built and run here",
)

PUBLISHED_COUNTS: dict[str, PublishedCount] = {
    "esm2_t6_8M": _esm_published(
        "esm2_t6_8M", 8 * 10**6, 0.07, "7.5M rounded up to 8M in the name"
    ),
    "esm2_t12_35M": _esm_published(
        "esm2_t12_35M",
        35 * 10**6,
        0.05,
        "the name says 35M for 33.5M; the checkpoint holds no further module",
    ),
    "esm2_t30_150M": _esm_published(
        "esm2_t30_150M", 150 * 10**6, 0.015, "148M rounded to 150M in the name"
    ),
    "esm2_t33_650M": _esm_published(
        "esm2_t33_650M", 650 * 10**6, 0.005, "651M rounded to 650M in the name"
    ),
    "esm2_t36_3B": _esm_published(
        "esm2_t36_3B", 3 * 10**9, 0.06, "2.84B rounded up to 3B in the name"
    ),
    "esm2_t48_15B": _esm_published(
        "esm2_t48_15B", 15 * 10**9, 0.01, "15.1B rounded to 15B in the name"
    ),
    "esm1b_t33_650M": _esm_published(
        "esm1b_t33_650M", 650 * 10**6, 0.005, "652M rounded to 650M in the name"
    ),
    "protst_esm1b": PublishedCount(
        650 * 10**6,
        "the ESM-1b backbone only (ProtST publishes no count of its own)",
        "ESM-1b's figure in the fair-esm README (UNVERIFIED for ProtST)",
        (("ESM-1b masked-LM head", esm_lm_head_params(1280, 33)),),
        0.01,
        "650M for ESM-1b, plus the 1.6M classification head run here",
    ),
    "prot_bert": _PROTBERT_PUBLISHED,
    "prot_bert_bfd": _PROTBERT_PUBLISHED,
    "prot_t5_xl_enc": PublishedCount(
        3 * 10**9,
        "the whole ProtT5-XL encoder-decoder",
        _PROTTRANS,
        (("T5 decoder", t5_decoder_params(MODELS["prot_t5_xl_enc"].config)),),
        0.07,
        "2.82B rounded up to 3B; only the encoder (1.21B) is built and run",
    ),
}
"""Published counts by model id. Ankh's are absent: none could be confirmed here (UNVERIFIED)."""
