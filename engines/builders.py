"""Turn a catalog entry into a torch model: random weights (fast, finite) or local real weights."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import (
    BertConfig,
    BertModel,
    EsmConfig,
    EsmModel,
    PreTrainedModel,
    T5Config,
    T5EncoderModel,
)
from transformers.initialization import no_init_weights

from engines.catalog import Family, ModelInfo
from engines.errors import InvalidInputError
from engines.protst import ProtSTClassifier
from engines.weights import cached_config, check_config, check_weights, read_config

ATTENTION_CHOICES = ("eager", "sdpa", "flash_attention_2")

_CONFIG_CLASSES: dict[Family, type] = {
    Family.ESM: EsmConfig,
    Family.PROTST: EsmConfig,
    Family.BERT: BertConfig,
    Family.T5_ENCODER: T5Config,
}

# A pool of random values copied into every parameter: filling 650M parameters with normal_
# takes seconds, copying from a pool is memory-bound. Its length is prime so that consecutive
# rows of a matrix do not repeat the same values.
_POOL_SIZE = 1_048_573
_INIT_STD = 0.02


@dataclass
class BuiltModel:
    module: nn.Module
    attention: str
    load_seconds: float
    weights: str
    notes: list[str] = field(default_factory=list)


def make_config(info: ModelInfo, attention: str = "eager") -> Any:
    config = _CONFIG_CLASSES[info.family](**info.config)
    config._attn_implementation = attention
    return config


def instantiate(info: ModelInfo, config: Any) -> nn.Module:
    """The bare architecture for ``config`` (parameters initialised by the current context)."""
    if info.family is Family.ESM:
        return EsmModel(config, add_pooling_layer=False)
    if info.family is Family.PROTST:
        return ProtSTClassifier(config)
    if info.family is Family.BERT:
        return BertModel(config, add_pooling_layer=True)
    return T5EncoderModel(config)


def count_parameters(info: ModelInfo) -> int:
    """Parameters of the architecture, counted on the meta device (nothing is allocated)."""
    with torch.device("meta"):
        model = instantiate(info, make_config(info))
    return sum(p.numel() for p in model.parameters())


def _is_norm(name: str) -> bool:
    """Whether a parameter belongs to a normalisation layer (``LayerNorm``, ``layer_norm``, …)."""
    return any("norm" in part for part in name.lower().split(".")[:-1])


@torch.no_grad()
def fill_random_(model: nn.Module, seed: int) -> None:
    """Fill every parameter with finite values: norms get weight 1 / bias 0, the rest ±0.02 std.

    Deterministic for a seed, so a quality reference built with the same seed has the same weights.
    """
    generator = torch.Generator().manual_seed(seed)
    bound = _INIT_STD * 3**0.5
    pool = torch.empty(_POOL_SIZE).uniform_(-bound, bound, generator=generator)
    offsets = torch.randint(0, _POOL_SIZE, (1,), generator=generator)
    for name, param in model.named_parameters():
        if _is_norm(name):
            param.fill_(1.0 if name.endswith("weight") else 0.0)
            continue
        flat = param.view(-1)
        start = int(offsets.item())
        done = 0
        while done < flat.numel():
            take = min(flat.numel() - done, _POOL_SIZE - start)
            flat[done : done + take].copy_(pool[start : start + take])
            done += take
            start = 0
        offsets = (offsets + 7919 * (flat.numel() % 104_729 + 1)) % _POOL_SIZE


def _build_random(info: ModelInfo, attention: str, device: torch.device, seed: int) -> nn.Module:
    config = make_config(info, attention)
    with no_init_weights(), torch.device(device):
        model = instantiate(info, config)
    if isinstance(model, PreTrainedModel):
        model.tie_weights()  # T5's shared and encoder.embed_tokens are one tensor, as on the hub
    fill_random_(model, seed)
    return model


def probe_attention(info: ModelInfo, requested: str) -> tuple[str, str | None]:
    """The attention implementation that will run, and a note when it differs from the request."""
    if requested not in ATTENTION_CHOICES:
        raise InvalidInputError(
            f"unknown attention implementation '{requested}'; choose one of "
            f"{', '.join(ATTENTION_CHOICES)}"
        )
    if requested == "eager":
        return "eager", None
    try:
        with torch.device("meta"):
            instantiate(info, make_config(info, requested))
    except (ImportError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:160]
        return "eager", f"attention '{requested}' unavailable for {info.id} ({reason}); using eager"
    return requested, None


def _load_local(info: ModelInfo, path: Path, attention: str, device: torch.device) -> nn.Module:
    check_weights(info, str(path))  # again here: the files may have changed since the preflight
    if path.is_file():
        return _load_safetensors_file(info, path, attention, device)
    return _from_pretrained(info, str(path), f"'{path}'", attention, device)


def _from_pretrained(
    info: ModelInfo, source: str, name: str, attention: str, device: torch.device
) -> nn.Module:
    try:
        model: nn.Module = instantiate_class(info).from_pretrained(
            source, attn_implementation=attention, use_safetensors=True, local_files_only=True
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise InvalidInputError(f"cannot load weights from {name}: {exc}") from None
    return model.to(device)


def instantiate_class(info: ModelInfo) -> Any:
    return {Family.ESM: EsmModel, Family.BERT: BertModel, Family.T5_ENCODER: T5EncoderModel}[
        info.family
    ]


_PREFIXES = ("esm.", "bert.", "encoder_model.", "model.")


def check_state_shapes(
    info: ModelInfo, shapes: Mapping[str, tuple[int, ...]], source: str
) -> dict[str, str]:
    """Match a state dict's tensor names (``shapes``: name -> shape) to ``info``'s parameters,
    prefixes such as ``esm.`` dropped; raise ``InvalidInputError`` when one is missing or has
    another shape. Returns model name -> name in the file."""
    with torch.device("meta"):
        model = instantiate(info, make_config(info))
    expected = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    names: dict[str, str] = {}
    for key in shapes:
        name = key
        if name not in expected:
            name = next((key[len(p) :] for p in _PREFIXES if key.startswith(p)), key)
        if name in expected:
            names[name] = key
    missing = sorted(k for k in set(expected) - set(names) if not k.endswith("position_ids"))
    if missing:
        shown = ", ".join(missing[:5])
        raise InvalidInputError(
            f"'{source}' does not match {info.id}: {len(missing)} tensors missing (e.g. {shown})"
        )
    wrong = [(n, tuple(shapes[k])) for n, k in sorted(names.items()) if shapes[k] != expected[n]]
    if wrong:
        name, shape = wrong[0]
        raise InvalidInputError(
            f"'{source}' does not match {info.id}: {len(wrong)} tensors have other shapes "
            f"(e.g. {name}: {list(shape)} in the file, {list(expected[name])} in {info.id})"
        )
    return names


def _load_safetensors_file(
    info: ModelInfo, path: Path, attention: str, device: torch.device
) -> nn.Module:
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise InvalidInputError(f"'{path}' is not a readable safetensors file: {exc}") from None
    names = check_state_shapes(info, {k: tuple(v.shape) for k, v in state.items()}, str(path))
    model = _build_random(info, attention, torch.device("cpu"), seed=0)
    model.load_state_dict({name: state[key] for name, key in names.items()}, strict=False)
    return model.to(device)


def build_model(
    info: ModelInfo,
    *,
    weights: str = "random",
    attention: str = "sdpa",
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
) -> BuiltModel:
    """Build ``info``'s model on ``device`` in ``dtype``, in eval mode.

    ``weights`` is ``"random"`` (the default: same compute as the released checkpoint), ``"cache"``
    (an existing local Hugging Face cache, never a download) or a local path.
    """
    target = torch.device(device)
    used, note = probe_attention(info, attention)
    start = time.perf_counter()
    if weights == "random":
        model = _build_random(info, used, target, seed)
    elif weights == "cache":
        model = _load_from_cache(info, used, target)
    else:
        model = _load_local(info, Path(weights), used, target)
    model = model.to(dtype=dtype).eval()
    seconds = time.perf_counter() - start
    return BuiltModel(model, used, seconds, weights, [note] if note else [])


def _load_from_cache(info: ModelInfo, attention: str, device: torch.device) -> nn.Module:
    config = cached_config(info)  # refuses a model that is not cached, before transformers looks
    check_config(info, read_config(config), f"the cached {info.hub_id}")
    return _from_pretrained(info, info.hub_id, f"the cached {info.hub_id}", attention, device)
