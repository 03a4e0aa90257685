"""Reaching Intel's PyTorch bridge for Gaudi: the execution mode, the import, the devices.

The bridge (``habana_frameworks.torch``) is not on PyPI; it comes from Intel's Gaudi software
installer or Docker images. It reads ``PT_HPU_LAZY_MODE`` once, when it is imported, so the mode
is set in the worker's environment before anything imports it (:func:`startup_env`), and the
parent process never imports it (it would take a Gaudi that a worker then cannot open).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from engines.errors import UnsupportedError

LAZY_MODE_ENV = "PT_HPU_LAZY_MODE"
# Intel's Gaudi-to-process assignment: the module id one process acquires, and the list of module
# ids a process (here: the parent) may hand out.
MODULE_ENV = "HLS_MODULE_ID"
VISIBLE_MODULES_ENV = "HABANA_VISIBLE_MODULES"
MODE_VALUES = {"lazy": "1", "eager": "0"}
INTEL_DOCS = "https://docs.habana.ai"
INSTALL_HINT = (
    "it is not on PyPI: use Intel's Gaudi PyTorch Docker image or Intel's Gaudi software "
    f"installer ({INTEL_DOCS}, Installation Guide)"
)


@dataclass(frozen=True)
class Bridge:
    """The bridge's modules plmprof uses: ``core`` (``mark_step``), ``hpu`` (the module the bridge
    registers as ``torch.hpu``: ``synchronize``, ``memory_stats``, ``wrap_in_hpu_graph``) and
    ``metrics`` (``metric_global``). ``lazy`` is the mode the bridge runs in (its ``is_lazy()``)."""

    core: ModuleType
    hpu: ModuleType
    metrics: ModuleType
    lazy: bool
    version: str


def startup_env(mode: str) -> dict[str, str]:
    """What a worker sets before importing anything that could load the bridge."""
    return {LAZY_MODE_ENV: MODE_VALUES[mode]}


def spec_startup_env(spec: Mapping[str, object], device: str) -> dict[str, str]:
    """:func:`startup_env` for a worker task's spec (a plain dict) on ``device``; empty off HPU."""
    if device.partition(":")[0] != "hpu":
        return {}
    return startup_env(str(spec.get("hpu_mode", "lazy")))


def bridge_installed() -> bool:
    """Whether ``habana_frameworks.torch`` can be found, without importing it."""
    try:
        return importlib.util.find_spec("habana_frameworks.torch") is not None
    except (ImportError, ValueError):
        return False


def import_bridge(env: Mapping[str, str]) -> Bridge:
    """Import the bridge in the mode ``env`` fixed; ``UnsupportedError`` saying how to get it."""
    wanted = env.get(LAZY_MODE_ENV)
    if wanted not in MODE_VALUES.values():
        raise UnsupportedError(
            f"{LAZY_MODE_ENV} is {wanted!r}: the worker sets it to 1 (lazy) or 0 (eager) before "
            "the bridge loads"
        )
    try:
        core = importlib.import_module("habana_frameworks.torch.core")
        hpu = importlib.import_module("habana_frameworks.torch.hpu")
        metrics = importlib.import_module("habana_frameworks.torch.hpu.metrics")
        internal = importlib.import_module("habana_frameworks.torch.utils.internal")
    except ImportError as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else "not installed"
        raise UnsupportedError(
            f"the Gaudi PyTorch bridge is not importable ({reason}); {INSTALL_HINT}"
        ) from None
    lazy = bool(internal.is_lazy())
    if lazy != (wanted == MODE_VALUES["lazy"]):
        running = "lazy" if lazy else "eager"
        raise UnsupportedError(
            f"the Gaudi bridge runs in {running} mode though {LAZY_MODE_ENV}={wanted} was set: "
            "it was imported before the worker fixed the mode"
        )
    package = importlib.import_module("habana_frameworks.torch")
    version = str(getattr(package, "__version__", "unknown"))
    return Bridge(core, hpu, metrics, lazy=lazy, version=version)


def device_files(dev: Path = Path("/dev"), sys_class: Path = Path("/sys/class/accel")) -> list[str]:
    """The habanalabs driver's device nodes: ``/dev/hlN`` (older drivers) and the
    ``/dev/accel/accelN`` nodes whose driver is habanalabs (other accelerators use accel too)."""
    found: list[str] = []
    try:
        found += [str(p) for p in dev.glob("hl*") if p.name.removeprefix("hl").isdigit()]
        for node in dev.glob("accel/accel*"):
            driver = sys_class / node.name / "device" / "driver"
            if driver.is_symlink() and driver.resolve().name == "habanalabs":
                found.append(str(node))
    except OSError:
        return sorted(found)
    return sorted(found)
