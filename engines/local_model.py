"""A local Hugging Face model directory (``--model ./my-esm-finetune``: a ``config.json`` beside
its weights) as a catalog entry: the architecture read from the config's ``model_type``, the
tokenizer and residue window of the catalog models that share its family and vocabulary.

Counting its parameters builds it on torch's meta device (nothing allocated), so only a local
directory, never a catalog id, imports torch here.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path
from typing import Any

from engines.catalog import MODELS, Family, ModelInfo
from engines.errors import InvalidInputError
from engines.weights import read_config

# The config.json ``model_type`` of each architecture a directory may hold.
FAMILIES: dict[str, Family] = {"esm": Family.ESM, "bert": Family.BERT, "t5": Family.T5_ENCODER}
# config.json keys that describe the file, not the architecture.
_NOT_ARCHITECTURE = frozenset(
    {"model_type", "architectures", "transformers_version", "_name_or_path", "torch_dtype", "dtype"}
)


def is_local_model(model_id: str) -> bool:
    """Whether ``--model`` names a directory rather than a catalog id (a path: it has a slash,
    starts with ``.`` or ``~``, or is an existing directory)."""
    return "/" in model_id or model_id.startswith((".", "~")) or Path(model_id).is_dir()


def local_model_info(model_id: str) -> ModelInfo:
    """The catalog entry of the model directory ``model_id``; ``InvalidInputError`` (one line)
    when it is not a directory holding a config of a known architecture."""
    path = Path(model_id).expanduser()
    if not path.is_dir():
        raise InvalidInputError(
            f"model directory '{model_id}' does not exist (a --model with a slash is a local "
            "directory; plmprof never downloads models)"
        )
    config_file = path / "config.json"
    if not config_file.is_file():
        raise InvalidInputError(f"model directory '{model_id}' has no config.json")
    return _cached_info(model_id, config_file.resolve(), config_file.stat().st_mtime_ns)


@lru_cache(maxsize=16)
def _cached_info(model_id: str, config_file: Path, stamp: int) -> ModelInfo:
    """Cached per config file and its modification time (``stamp``)."""
    config = read_config(config_file)
    model_type = config.get("model_type")
    family = FAMILIES.get(str(model_type))
    if family is None:
        known = ", ".join(FAMILIES)
        raise InvalidInputError(
            f"model directory '{model_id}' holds a {model_type or 'config without a model_type'}"
            f" model; plmprof runs these architectures: {known}"
        )
    vocab = config.get("vocab_size")
    relative = next(
        (m for m in MODELS.values() if m.family is family and m.config["vocab_size"] == vocab),
        None,
    )
    if relative is None:
        raise InvalidInputError(
            f"model directory '{model_id}': no built-in tokenizer for a {model_type} vocabulary "
            f"of {vocab} tokens (plmprof's {model_type} tokenizers have "
            f"{_vocab_sizes(family)})"
        )
    kept = {k: v for k, v in config.items() if k not in _NOT_ARCHITECTURE}
    info = ModelInfo(
        id=model_id,
        hub_id=str(config_file.parent),
        family=family,
        hf_class=relative.hf_class,
        config=kept,
        max_residues=_max_residues(family, kept, relative),
        tokenizer=relative.tokenizer,
        expected_params=0,
        notes=(f"local directory; {model_type} read from its config.json",),
    )
    from engines.builders import count_parameters

    return dataclasses.replace(info, expected_params=count_parameters(info))


def _vocab_sizes(family: Family) -> str:
    sizes = sorted({m.config["vocab_size"] for m in MODELS.values() if m.family is family})
    return " or ".join(str(s) for s in sizes)


def _max_residues(family: Family, config: dict[str, Any], relative: ModelInfo) -> int | None:
    """Learned or rotary position tables end at ``max_position_embeddings`` (less the two special
    tokens); T5's relative positions have no end, like the catalog's T5 encoders."""
    positions = config.get("max_position_embeddings")
    if family is Family.T5_ENCODER or not isinstance(positions, int):
        return relative.max_residues
    return positions - 2
