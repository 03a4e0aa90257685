"""Which device each worker runs on, and the variables that pin it there before a runtime loads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    """``device`` as the worker names it once pinned; ``env`` to set before its runtime loads."""

    device: str
    env: dict[str, str]


def _visible(parent_value: str | None, index: int) -> str:
    """Index ``index`` of the devices the parent itself may see (its own visibility list)."""
    if not parent_value:
        return str(index)
    visible = [v.strip() for v in parent_value.split(",") if v.strip()]
    return visible[index] if index < len(visible) else str(index)


def place(
    device: str, worker: int, workers_on_family: int, parent_env: dict[str, str]
) -> Placement:
    """Pin a worker: ``cuda:N`` sees only GPU N (as ``cuda:0``); ``neuron:N`` only NeuronCore N;
    several workers on plain ``neuron`` take one core each. CPU and plain ``cuda`` stay as given."""
    family, _, number = device.partition(":")
    if family == "cuda" and number:
        visible = _visible(parent_env.get("CUDA_VISIBLE_DEVICES"), int(number))
        return Placement("cuda:0", {"CUDA_VISIBLE_DEVICES": visible})
    if family == "cuda":
        return Placement("cuda:0", {})
    if family == "neuron":
        core = int(number) if number else (worker if workers_on_family > 1 else None)
        if core is None:
            return Placement("neuron", {})
        return Placement("neuron", {"NEURON_RT_VISIBLE_CORES": str(core)})
    return Placement(device, {})
