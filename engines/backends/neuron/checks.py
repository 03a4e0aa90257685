"""What cannot run on Neuron, said before anything is built (preflight and the worker)."""

from __future__ import annotations

from collections.abc import Callable

from engines.detect import neuron_sdk
from engines.errors import UnsupportedError
from engines.spec import RunSpec

from .buckets import check_batching
from .compiler_args import describe_precision
from .sdk import INSTALL_HINT, neuron_device_files

SdkProbe = Callable[[], tuple[str | None, str]]
DeviceProbe = Callable[[], list[str]]


def check_neuron_spec(spec: RunSpec) -> None:
    """Settings that have no meaning on Neuron: a clear ``UnsupportedError`` for each."""
    if spec.int8 != "none":
        raise UnsupportedError(
            f"--int8 {spec.int8}: Neuron has no documented int8 path for traced encoders; use "
            "--dtype bf16 or fp16 (neuronx-cc auto-cast) or fp32"
        )
    if spec.compile != "none":
        raise UnsupportedError(
            f"--compile {spec.compile} is torch.compile; on Neuron, neuronx-cc compiles the "
            "traced model already: leave --compile none"
        )
    if spec.attention == "flash_attention_2":
        raise UnsupportedError(
            "--attention flash_attention_2 is a CUDA kernel; on Neuron use sdpa or eager"
        )
    check_batching(spec)


def check_neuron_available(
    device: str,
    *,
    sdk: SdkProbe | None = None,
    device_files: DeviceProbe | None = None,
) -> str:
    """Raise ``UnsupportedError`` unless torch-neuronx imports and a Neuron device is present;
    return the SDK version."""
    version, found = (sdk or neuron_sdk)()
    if version is None:
        raise UnsupportedError(f"--device {device}: {found}. To run on Neuron, {INSTALL_HINT}")
    if not (device_files or neuron_device_files)():
        raise UnsupportedError(
            f"--device {device}: torch-neuronx {version} is installed but no Neuron device is "
            "visible (no /dev/neuron*). Run on an inf2, trn1 or trn2 instance, or compile ahead "
            "of time here with `plmprof compile --neuron-target inf2`"
        )
    return version


def neuron_notes(spec: RunSpec) -> list[str]:
    """Notes a Neuron run carries in its result: precision mapping and ignored settings."""
    notes = [describe_precision(spec.dtype)]
    if spec.prune.startswith("unstructured"):
        notes.append(
            f"--prune {spec.prune} has no effect on speed on Neuron: NeuronCore-v2 has no "
            "documented sparse speed-up (only removing layers, heads or width helps)"
        )
    if spec.autocast:
        notes.append("--autocast is ignored on Neuron: neuronx-cc casts (--auto-cast)")
    return notes


def check_neuron_run(
    spec: RunSpec,
    device: str,
    *,
    sdk: SdkProbe | None = None,
    device_files: DeviceProbe | None = None,
) -> None:
    """Preflight for a Neuron worker: the SDK and a device are here, and the spec can run."""
    check_neuron_available(device, sdk=sdk, device_files=device_files)
    check_neuron_spec(spec)
