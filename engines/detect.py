"""Which device families this machine can run: CPU always, CUDA through torch, Neuron through
torch-neuronx (detected by importing it: the PyPI name is a placeholder that raises ImportError)."""

from __future__ import annotations

from functools import cache


@cache
def neuron_sdk() -> tuple[str | None, str]:
    """(torch-neuronx version or None, a sentence saying what was found)."""
    try:
        import torch_neuronx
    except ImportError as exc:
        return None, f"torch-neuronx not importable ({str(exc).splitlines()[0][:100]})"
    except Exception as exc:  # a broken SDK install must not take the caller down
        return None, f"torch-neuronx failed to import: {type(exc).__name__}: {exc}"
    version = getattr(torch_neuronx, "__version__", "unknown")
    return str(version), f"torch-neuronx {version}"


def cuda_devices() -> list[str]:
    import torch

    if not torch.cuda.is_available():
        return []
    return [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def best_device() -> str:
    """CUDA when a GPU is visible, else Neuron when torch-neuronx imports, else CPU."""
    if cuda_devices():
        return "cuda"
    if neuron_sdk()[0] is not None:
        return "neuron"
    return "cpu"


def available_devices() -> list[str]:
    found = ["cpu", *cuda_devices()]
    if neuron_sdk()[0] is not None:
        found.append("neuron")
    return found
