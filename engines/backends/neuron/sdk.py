"""Reaching the Neuron SDK: importing ``torch_neuronx``, finding devices, counting cores.

``torch_neuronx`` is imported only here and only when asked, so the rest of plmprof runs on any
machine. The PyPI package of that name is a placeholder that raises ``ImportError`` on import;
the real one comes from a Neuron DLAMI or AWS's pip repository.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engines.errors import UnsupportedError

AWS_PIP_REPOSITORY = "https://pip.repos.neuron.amazonaws.com"
INSTALL_HINT = (
    "use an AWS Neuron Deep Learning AMI (DLAMI), or install the SDK from AWS's pip repository: "
    f"pip install torch-neuronx neuronx-cc --extra-index-url {AWS_PIP_REPOSITORY} "
    "(the torch-neuronx on PyPI is a placeholder)"
)
# NeuronCores per Neuron device, from AWS's instance tables (inf2.xlarge: 1 device, 2 cores;
# trn1.32xlarge: 16 devices, 32 cores). trn2 depends on the logical-core setting: not guessed.
CORES_PER_DEVICE = {"inf2": 2, "trn1": 2, "trn1n": 2}
# Physical NeuronCores per logical core: Trainium2 combines two by default (Logical NeuronCore
# Configuration, LNC=2; NEURON_LOGICAL_NC_CONFIG=1 turns it off); earlier chips have no LNC.
DEFAULT_LOGICAL_CORE_SIZE = {"trn2": 2}

TorchNeuronx = Any  # the torch_neuronx module, or a stand-in with the same trace/DataParallel


def import_torch_neuronx() -> TorchNeuronx:
    """The real ``torch_neuronx`` module, or ``UnsupportedError`` saying how to get it."""
    try:
        return importlib.import_module("torch_neuronx")
    except ImportError as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else "not installed"
        message = f"torch-neuronx is not importable ({reason}); {INSTALL_HINT}"
        raise UnsupportedError(message) from None


def sdk_version(neuronx: TorchNeuronx) -> str:
    return str(getattr(neuronx, "__version__", "unknown"))


def compiler_version() -> str | None:
    """The installed ``neuronx-cc`` version (read from package metadata, nothing imported)."""
    try:
        return importlib.metadata.version("neuronx-cc")
    except importlib.metadata.PackageNotFoundError:
        return None


def neuron_device_files(dev: Path = Path("/dev")) -> list[str]:
    """The Neuron driver's device nodes (``/dev/neuron0``, …): present only on a Neuron host."""
    try:
        return sorted(
            str(p) for p in dev.glob("neuron*") if p.name.removeprefix("neuron").isdigit()
        )
    except OSError:
        return []


def parse_core_list(text: str) -> list[int]:
    """``NEURON_RT_VISIBLE_CORES`` syntax: an index, an inclusive range ``0-1``, or a comma list."""
    cores: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        first, dash, last = part.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise UnsupportedError(f"cannot read NEURON_RT_VISIBLE_CORES={text!r}")
        low, high = int(first), int(last) if dash else int(first)
        if high < low:
            raise UnsupportedError(f"cannot read NEURON_RT_VISIBLE_CORES={text!r}")
        cores.extend(range(low, high + 1))
    return cores


def visible_core_count(
    env: Mapping[str, str], target: str, device_files: list[str] | None = None
) -> int | None:
    """How many NeuronCores this process may use: from ``NEURON_RT_VISIBLE_CORES``, else
    ``NEURON_RT_NUM_CORES``, else devices x cores per device for the target (``None``: unknown)."""
    visible = env.get("NEURON_RT_VISIBLE_CORES", "").strip()
    if visible:
        return len(parse_core_list(visible)) or None
    count = env.get("NEURON_RT_NUM_CORES", "").strip()
    if count:
        if not count.isdigit() or int(count) == 0:
            raise UnsupportedError(f"cannot read NEURON_RT_NUM_CORES={count!r}")
        return int(count)
    devices = neuron_device_files() if device_files is None else device_files
    per_device = CORES_PER_DEVICE.get(target)
    return len(devices) * per_device if devices and per_device else None


def logical_core_size(env: Mapping[str, str], target: str) -> int:
    """Physical NeuronCores per logical core for ``target``: ``NEURON_LOGICAL_NC_CONFIG`` on
    trn2 (default 2), always 1 on inf2 and trn1."""
    default = DEFAULT_LOGICAL_CORE_SIZE.get(target)
    if default is None:
        return 1
    text = env.get("NEURON_LOGICAL_NC_CONFIG", "").strip()
    if not text:
        return default
    if text not in ("1", "2"):
        raise UnsupportedError(f"cannot read NEURON_LOGICAL_NC_CONFIG={text!r}: use 1 or 2")
    return int(text)
