"""CPU and CUDA through torch: placement, synchronisation before timing, allocator statistics."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from engines.detect import cpu_name
from engines.errors import UnsupportedError

TORCH_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class TorchDevice:
    """A torch device with the few operations a timing loop needs."""

    device: torch.device

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def name(self) -> str:
        if self.is_cuda:
            return torch.cuda.get_device_name(self.device)
        return cpu_name()

    def compute_units(self) -> tuple[str, ...]:
        """The compute units this worker's model runs on, named the same in every worker so that
        units shared by several workers count once: the GPU as the host numbers it (the first
        entry of ``CUDA_VISIBLE_DEVICES`` when set, an index or a UUID), or the host's CPU.
        A peak table's ``unit`` is per one of these."""
        if not self.is_cuda:
            return ("cpu",)
        visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")]
        index = self.device.index or 0
        return (f"gpu:{visible[index] if index < len(visible) and visible[index] else index}",)

    def synchronize(self) -> None:
        """Wait for queued device work, so a host clock read afterwards measures the work."""
        if self.is_cuda:
            torch.cuda.synchronize(self.device)

    def reset_peaks(self) -> None:
        if self.is_cuda:
            torch.cuda.reset_peak_memory_stats(self.device)

    def allocated(self) -> int | None:
        return torch.cuda.memory_allocated(self.device) if self.is_cuda else None

    def max_allocated(self) -> int | None:
        return torch.cuda.max_memory_allocated(self.device) if self.is_cuda else None

    def max_reserved(self) -> int | None:
        return torch.cuda.max_memory_reserved(self.device) if self.is_cuda else None

    def limit_memory(self, megabytes: int) -> None:
        """Cap what the caching allocator may take on a CUDA device (a CPU cap is RLIMIT_AS)."""
        if self.is_cuda:
            total = torch.cuda.get_device_properties(self.device).total_memory
            torch.cuda.set_per_process_memory_fraction(
                min(1.0, megabytes * 2**20 / total), self.device
            )


def open_device(device: str, dtype: str) -> TorchDevice:
    """The torch device for ``device`` ("cpu", "cuda", "cuda:N"), checked to run ``dtype``."""
    target = torch.device(device)
    if target.type == "cuda":
        check_cuda(target, dtype)
    return TorchDevice(target)


def check_cuda(target: torch.device, dtype: str) -> None:
    if not torch.cuda.is_available():
        built = "with" if torch.version.cuda else "without"
        raise UnsupportedError(
            f"--device {target}: no CUDA device is visible (torch {torch.__version__} is built "
            f"{built} CUDA). Use --device cpu, or run on a GPU host."
        )
    count = torch.cuda.device_count()
    index = target.index or 0
    if index >= count:
        raise UnsupportedError(f"--device {target}: only {count} CUDA device(s) visible")
    major, minor = torch.cuda.get_device_capability(index)
    if dtype == "bf16" and major < 8:
        raise UnsupportedError(
            f"bf16 needs compute capability 8.0 or newer; {torch.cuda.get_device_name(index)} "
            f"is {major}.{minor}. Use --dtype fp16 or fp32."
        )
