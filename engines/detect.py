"""Which device families this machine can run: CPU always, CUDA through torch, Neuron through
torch-neuronx (detected by importing it: the PyPI name is a placeholder that raises ImportError),
Intel Gaudi through its PyTorch bridge (found without importing it: an import in this process
could take the card a worker needs) and the habanalabs driver's device nodes."""

from __future__ import annotations

import importlib.util
import os
import platform
import re
from functools import cache

import psutil

from engines.backends.hpu.bridge import bridge_installed, device_files


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


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU"


def torch_build() -> tuple[str | None, str | None]:
    """(torch version, CUDA version torch was built with or None), read from torch's
    ``version.py`` without importing torch (which takes seconds)."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None, None
    path = os.path.join(next(iter(spec.submodule_search_locations)), "version.py")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return None, None
    version = re.search(r"^__version__\s*=\s*'([^']*)'", text, re.MULTILINE)
    cuda = re.search(r"^cuda\s*(?::[^=]*)?=\s*'([^']*)'", text, re.MULTILINE)
    return (version.group(1) if version else None), (cuda.group(1) if cuda else None)


def default_torch_threads() -> int:
    """The intra-op threads torch starts with: ``OMP_NUM_THREADS`` when set, else one per
    physical core (checked against ``torch.get_num_threads()`` in the tests)."""
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def cuda_devices() -> list[str]:
    import torch

    if not torch.cuda.is_available():
        return []
    return [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def hpu_status() -> tuple[bool, str]:
    """(whether a Gaudi can be used here, a sentence saying what was found)."""
    if not bridge_installed():
        return False, "Gaudi PyTorch bridge (habana_frameworks.torch) not installed"
    nodes = device_files()
    if not nodes:
        return False, "habana_frameworks.torch installed, but no Gaudi device node (habanalabs)"
    return True, f"habana_frameworks.torch installed; devices {', '.join(nodes)}"


def best_device() -> str:
    """CUDA when a GPU is visible, else Neuron when torch-neuronx imports, else a Gaudi when the
    bridge and a device are present, else CPU."""
    if cuda_devices():
        return "cuda"
    if neuron_sdk()[0] is not None:
        return "neuron"
    if hpu_status()[0]:
        return "hpu"
    return "cpu"


def available_devices() -> list[str]:
    found = ["cpu", *cuda_devices()]
    if neuron_sdk()[0] is not None:
        found.append("neuron")
    if hpu_status()[0]:
        found.append("hpu")
    return found
