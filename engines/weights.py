"""Checks on a run's ``--weights`` made before any worker starts (and again where they load): the
source exists and is of the catalog model's architecture. A mismatch is refused, naming both,
instead of being measured and reported as the catalog model.

Nothing here imports torch except the tensor-shape check of a single ``.safetensors`` file, which
needs the model's own parameter shapes (built on the meta device, nothing allocated).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engines.catalog import Family, ModelInfo
from engines.errors import InvalidInputError, UnsupportedError

# The config.json ``model_type`` of each family's architecture.
MODEL_TYPES: dict[Family, str] = {
    Family.ESM: "esm",
    Family.PROTST: "esm",
    Family.BERT: "bert",
    Family.T5_ENCODER: "t5",
}
# Config keys that fix the architecture's size, and how a message names them.
SIZE_KEYS: dict[str, str] = {
    "num_hidden_layers": "layers",
    "num_layers": "layers",
    "hidden_size": "hidden",
    "d_model": "hidden",
    "num_attention_heads": "heads",
    "num_heads": "heads",
    "intermediate_size": "ffn",
    "d_ff": "ffn",
    "vocab_size": "vocab",
}
# The weight files a cached model is loaded from (one file, or the index of a sharded one).
_SAFETENSORS = ("model.safetensors", "model.safetensors.index.json")
# A safetensors header larger than this is not one (the format caps it at 100 MB).
_MAX_HEADER = 100_000_000


def check_weights(info: ModelInfo, weights: str) -> None:
    """Raise ``InvalidInputError`` (the whole reason, one message) when ``weights`` cannot be the
    weights of ``info``: a path that is missing, not safetensors, unreadable, or of another
    architecture; ``cache`` without the model in the local Hugging Face cache."""
    if weights == "random":
        return
    if weights == "cache":
        check_config(info, read_config(cached_config(info)), f"the cached {info.hub_id}")
        return
    path = Path(weights)
    if not path.exists():
        raise InvalidInputError(f"weights path '{path}' does not exist")
    if path.is_file():
        if path.suffix != ".safetensors":
            raise InvalidInputError(
                f"weights file '{path}' is not a .safetensors file; pickled checkpoints are not "
                "loaded (they can run code). Give a safetensors file or a transformers directory."
            )
        from engines.builders import check_state_shapes

        check_state_shapes(info, safetensors_shapes(path), str(path))
        return
    if info.family is Family.PROTST:
        raise UnsupportedError(
            "ProtST weights load from a single .safetensors file of this model's state dict"
        )
    check_config(info, read_config(path / "config.json"), f"'{path}'")


def cached_config(info: ModelInfo) -> Path:
    """The config.json of ``info`` in the local Hugging Face cache (never downloaded)."""
    if info.family is Family.PROTST:
        raise UnsupportedError("ProtST loads only from a local .safetensors file (--weights PATH)")
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(info.hub_id, "config.json")
    if not isinstance(found, str):
        raise InvalidInputError(
            f"{info.hub_id} is not in the local Hugging Face cache; plmprof never downloads "
            "weights. Use --weights random, or a local path."
        )
    if not any(isinstance(try_to_load_from_cache(info.hub_id, n), str) for n in _SAFETENSORS):
        raise InvalidInputError(
            f"the local Hugging Face cache holds {info.hub_id}'s config but not its safetensors "
            "weights (pickled checkpoints are not loaded); plmprof never downloads weights"
        )
    return Path(found)


def read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InvalidInputError(f"weights directory '{path.parent}' has no config.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"cannot read '{path}': {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"'{path}' is not a model config (not a JSON object)")
    return data


def check_config(info: ModelInfo, config: Mapping[str, Any], source: str) -> None:
    """Refuse a config whose architecture or size differs from the catalog entry's."""
    expected = MODEL_TYPES[info.family]
    found = config.get("model_type")
    differs = [
        key
        for key in SIZE_KEYS
        if key in info.config and key in config and config[key] != info.config[key]
    ]
    if found == expected and not differs:
        return
    keys = [k for k in SIZE_KEYS if k in info.config]
    theirs = _describe(found, config, keys)
    ours = _describe(expected, info.config, keys)
    raise InvalidInputError(
        f"the weights in {source} are {theirs}, not {info.id}: {ours}; "
        "give the --model they belong to, or other weights"
    )


def _describe(model_type: Any, config: Mapping[str, Any], keys: list[str]) -> str:
    sizes = ", ".join(f"{SIZE_KEYS[k]} {config[k]}" for k in keys if k in config)
    return f"{model_type or 'of no known type'} ({sizes or 'no sizes given'})"


def safetensors_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes from a safetensors file's header (no tensor is read)."""
    try:
        with path.open("rb") as handle:
            (size,) = struct.unpack("<Q", handle.read(8))
            if size > _MAX_HEADER:
                raise ValueError(f"header of {size} bytes")
            header = json.loads(handle.read(size).decode("utf-8"))
        return {
            name: tuple(int(n) for n in entry["shape"])
            for name, entry in header.items()
            if name != "__metadata__"
        }
    except (OSError, struct.error, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInputError(f"'{path}' is not a readable safetensors file: {exc}") from None
