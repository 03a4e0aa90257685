"""AWS Neuron devices as ``neuron-ls --json-output`` lists them."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import Any

from engines.errors import InvalidInputError
from profilers.coerce import integer, text


@dataclass(frozen=True)
class NeuronProcess:
    """A process holding NeuronCores of a device."""

    pid: int | None
    command: str | None
    runtime_version: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class NeuronDevice:
    """One Neuron device (chip); ``memory_size`` is its device memory in bytes."""

    neuron_device: int | None
    bdf: str | None
    nc_count: int | None
    memory_size: int | None
    neuroncore_ids: tuple[int, ...] = ()
    processes: tuple[NeuronProcess, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "neuron_device": self.neuron_device,
            "bdf": self.bdf,
            "nc_count": self.nc_count,
            "memory_size": self.memory_size,
            "neuroncore_ids": list(self.neuroncore_ids),
            "processes": [process.to_dict() for process in self.processes],
        }


def _device(entry: dict[str, Any]) -> NeuronDevice:
    ids = entry.get("neuroncore_ids")
    core_ids = tuple(
        index
        for index in (integer(i, text=True) for i in (ids if isinstance(ids, list) else []))
        if index is not None
    )
    listed = entry.get("neuron_processes")
    processes = tuple(
        NeuronProcess(
            pid=integer(process.get("pid"), text=True),
            command=text(process.get("command")),
            runtime_version=text(process.get("neuron_runtime_version")),
        )
        for process in (listed if isinstance(listed, list) else [])
        if isinstance(process, dict)
    )
    return NeuronDevice(
        neuron_device=integer(entry.get("neuron_device"), text=True),
        bdf=text(entry.get("bdf")),
        nc_count=integer(entry.get("nc_count"), text=True),
        memory_size=integer(entry.get("memory_size"), text=True),
        neuroncore_ids=core_ids,
        processes=processes,
    )


def parse_neuron_ls(text: str) -> list[NeuronDevice]:
    """Devices from ``neuron-ls --json-output``; every field optional, non-object entries skipped.

    Raises ``InvalidInputError`` when the text is not a JSON list.
    """
    try:
        document = json.loads(text)
    except ValueError as error:
        raise InvalidInputError(f"neuron-ls output is not JSON: {error}") from None
    if not isinstance(document, list):
        raise InvalidInputError("neuron-ls output is not a JSON list of devices")
    return [_device(entry) for entry in document if isinstance(entry, dict)]


@dataclass(frozen=True)
class NeuronListing:
    """What running ``neuron-ls`` gave: the devices, or ``None`` with why not in ``status``."""

    devices: list[NeuronDevice] | None
    status: str


def run_neuron_ls(executable: str = "neuron-ls", timeout_s: float = 10.0) -> NeuronListing:
    """Run ``neuron-ls --json-output``; a missing, failing or hanging tool, or one that prints no
    device list, gives no devices and says which it was."""
    path = shutil.which(executable)
    if path is None:
        return NeuronListing(None, f"{executable} not found on PATH")
    try:
        completed = subprocess.run(
            [path, "--json-output"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return NeuronListing(None, f"{executable} gave no answer within {timeout_s:g} s")
    except (OSError, subprocess.SubprocessError) as error:
        return NeuronListing(None, f"{executable} could not run: {error}")
    if completed.returncode != 0:
        said = (completed.stderr or completed.stdout).strip().splitlines()
        detail = f": {said[-1][:200]}" if said else ""
        return NeuronListing(None, f"{executable} exited with code {completed.returncode}{detail}")
    try:
        return NeuronListing(parse_neuron_ls(completed.stdout), "ok")
    except InvalidInputError as error:
        return NeuronListing(None, f"{executable} printed no device list ({error})")
