"""What cannot run on Gaudi, said before anything is built (preflight and the worker)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from engines.errors import UnsupportedError
from engines.spec import RunSpec

from .bridge import INSTALL_HINT, LAZY_MODE_ENV, MODE_VALUES, bridge_installed, device_files

BridgeProbe = Callable[[], bool]
DeviceProbe = Callable[[], list[str]]


def is_hpu_device(device: str) -> bool:
    return device.partition(":")[0] == "hpu"


def check_hpu_spec(spec: RunSpec) -> None:
    """Settings that have no meaning on Gaudi: a clear ``UnsupportedError`` for each."""
    if spec.mode == "training" and spec.hpu_graphs:
        raise UnsupportedError(
            "--hpu-graphs captures the inference forward; training on Gaudi runs without it: "
            "drop --hpu-graphs for --mode train"
        )
    if spec.int8 != "none":
        raise UnsupportedError(
            f"--int8 {spec.int8}: no int8 path is wired up for Gaudi; use --dtype bf16 (or "
            "--dtype bf16 --autocast, Intel's recommended mixed precision)"
        )
    if spec.attention == "flash_attention_2":
        raise UnsupportedError(
            "--attention flash_attention_2 is a CUDA kernel; on Gaudi use sdpa or eager"
        )
    if spec.packing:
        raise UnsupportedError(
            "--packing runs variable-length attention kernels for CPU and CUDA; Gaudi compiles one "
            "graph per shape: use --buckets or a fixed --seq-len (static shapes)"
        )
    if spec.compile not in ("none", "default"):
        raise UnsupportedError(
            f"--compile {spec.compile} is an inductor mode; on Gaudi torch.compile uses "
            "backend='hpu_backend': use --compile default with --hpu-mode eager"
        )
    if spec.compile == "default" and spec.hpu_mode != "eager":
        raise UnsupportedError(
            "--compile default on Gaudi runs torch.compile(backend='hpu_backend'), which needs "
            f"eager mode ({LAZY_MODE_ENV}={MODE_VALUES['eager']}): add --hpu-mode eager"
        )
    if spec.hpu_graphs and spec.hpu_mode != "lazy":
        raise UnsupportedError(
            "--hpu-graphs wraps the model with wrap_in_hpu_graph, a lazy-mode API: use "
            "--hpu-mode lazy (or --compile default in eager mode instead)"
        )
    shared = [d for d, n in Counter(spec.worker_devices()).items() if n > 1 and ":" in d]
    if shared:
        raise UnsupportedError(
            f"{', '.join(shared)} given to more than one worker: a Gaudi is opened by one process "
            "only; give each worker its own hpu:N"
        )


def check_hpu_available(
    device: str, *, bridge: BridgeProbe | None = None, devices: DeviceProbe | None = None
) -> None:
    """Raise ``UnsupportedError`` naming what is missing: the bridge, or a Gaudi device."""
    if not (bridge or bridge_installed)():
        raise UnsupportedError(
            f"--device {device}: the Gaudi PyTorch bridge (habana_frameworks.torch) is not "
            f"installed; {INSTALL_HINT}"
        )
    if not (devices or device_files)():
        raise UnsupportedError(
            f"--device {device}: habana_frameworks.torch is installed but no Gaudi device is "
            "visible (no /dev/hlN, no /dev/accel/accelN of the habanalabs driver); run on a Gaudi "
            "host, and inside a container pass the devices through (Intel's habana container "
            "runtime)"
        )


def check_hpu_run(
    spec: RunSpec,
    device: str,
    *,
    bridge: BridgeProbe | None = None,
    devices: DeviceProbe | None = None,
) -> None:
    """Preflight for a Gaudi worker: the spec can run there, the bridge and a device are here."""
    check_hpu_spec(spec)
    check_hpu_available(device, bridge=bridge, devices=devices)


def hpu_notes(spec: RunSpec) -> list[str]:
    """Notes a Gaudi run carries in its result: the execution mode and how precision is set."""
    mode = (
        f"Gaudi: lazy mode ({LAZY_MODE_ENV}=1), mark_step before every synchronise"
        if spec.hpu_mode == "lazy"
        else f"Gaudi: eager mode ({LAZY_MODE_ENV}=0)"
    )
    notes = [mode]
    if spec.compile == "default":
        notes.append("Gaudi: torch.compile(backend='hpu_backend')")
    if spec.hpu_graphs:
        notes.append("Gaudi: model wrapped with wrap_in_hpu_graph (HPU graphs)")
    if spec.dtype != "fp32" and not spec.autocast:
        notes.append(
            f"Gaudi: weights cast to {spec.dtype}; Intel recommends --autocast (torch.autocast "
            "on hpu over fp32 weights)"
        )
    return notes
