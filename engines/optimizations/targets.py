"""Which parts of a built model the optimizations touch: its layer list and its Linear layers."""

from __future__ import annotations

from torch import nn

from engines.errors import UnsupportedError

# Modules a model holds but its forward pass does not run (ESM's contact-prediction head).
NOT_RUN_PARTS = ("contact_head",)
# The stack of transformer layers: ``encoder.layer`` (ESM, BERT, ProtST), ``encoder.block`` (T5).
_LAYER_LISTS = ("encoder.layer", "encoder.block")


def run_linears(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """Every ``nn.Linear`` the forward pass runs, by qualified name, in module order."""
    return [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and not _in_parts(name, NOT_RUN_PARTS)
    ]


def encoder_linears(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """The Linear layers inside the encoder's layers (no heads, poolers or unused modules)."""
    return [(name, linear) for name, linear in run_linears(model) if "encoder" in name.split(".")]


def layer_list(model: nn.Module) -> tuple[nn.Module, str, nn.ModuleList]:
    """The module that holds the encoder's ``ModuleList`` of layers, its attribute name, and it."""
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and any(
            name == suffix or name.endswith("." + suffix) for suffix in _LAYER_LISTS
        ):
            owner_name, _, attr = name.rpartition(".")
            return model.get_submodule(owner_name), attr, module
    raise UnsupportedError(
        f"cannot find the encoder's layer list in {type(model).__name__}: structural pruning "
        "knows ESM, ProtST, BERT and T5 encoders"
    )


def configs(model: nn.Module) -> list[object]:
    """The distinct transformers configs the model's modules hold (one, usually)."""
    seen: dict[int, object] = {}
    for module in model.modules():
        config = getattr(module, "config", None)
        if config is not None and not isinstance(config, dict):
            seen.setdefault(id(config), config)
    return list(seen.values())


def _in_parts(name: str, parts: tuple[str, ...]) -> bool:
    return any(part in parts for part in name.split("."))
