"""Which device each worker runs on, and the variables that pin it there before a runtime loads."""

from __future__ import annotations

from dataclasses import dataclass

from engines.backends.hpu.bridge import MODULE_ENV, VISIBLE_MODULES_ENV


@dataclass(frozen=True)
class Placement:
    """``device`` as the worker names it once pinned; ``env`` to set before its runtime loads."""

    device: str
    env: dict[str, str]


# Families whose workers each take one unit (a NeuronCore, a Gaudi module): the parent's list of
# what it may see, and the variable that pins one worker to one of them.
_ONE_PER_WORKER = {
    "neuron": ("NEURON_RT_VISIBLE_CORES", "NEURON_RT_VISIBLE_CORES"),
    "hpu": (VISIBLE_MODULES_ENV, MODULE_ENV),
}


def _expand(parent_value: str) -> list[str]:
    """``"0,2"`` -> ``["0", "2"]``; ``"4-7"`` (the Neuron runtime's range form) -> 4, 5, 6, 7."""
    visible: list[str] = []
    for part in (p.strip() for p in parent_value.split(",")):
        first, dash, last = part.partition("-")
        if dash and first.isdigit() and last.isdigit():
            visible.extend(str(n) for n in range(int(first), int(last) + 1))
        elif part:
            visible.append(part)
    return visible


def _visible(parent_value: str | None, index: int) -> str:
    """Index ``index`` of the devices the parent itself may see (its own visibility list)."""
    visible = _expand(parent_value) if parent_value else []
    return visible[index] if index < len(visible) else str(index)


def place(
    device: str, worker: int, workers_on_family: int, parent_env: dict[str, str]
) -> Placement:
    """Pin a worker: ``cuda:N`` sees only GPU N (as ``cuda:0``); ``neuron:N`` only NeuronCore N;
    ``hpu:N`` acquires Gaudi module N (``HLS_MODULE_ID``); several workers on plain ``neuron`` or
    ``hpu`` take one core or card each. Indices count within what the parent may see (its
    ``CUDA_VISIBLE_DEVICES`` / ``NEURON_RT_VISIBLE_CORES`` / ``HABANA_VISIBLE_MODULES``). CPU and
    plain ``cuda`` stay as given."""
    family, _, number = device.partition(":")
    if family == "cuda" and number:
        visible = _visible(parent_env.get("CUDA_VISIBLE_DEVICES"), int(number))
        return Placement("cuda:0", {"CUDA_VISIBLE_DEVICES": visible})
    if family == "cuda":
        return Placement("cuda:0", {})
    if family in _ONE_PER_WORKER:
        unit = int(number) if number else (worker if workers_on_family > 1 else None)
        if unit is None:
            return Placement(family, {})
        parent_list, pin = _ONE_PER_WORKER[family]
        return Placement(family, {pin: _visible(parent_env.get(parent_list), unit)})
    return Placement(device, {})
