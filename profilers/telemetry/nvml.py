"""NVIDIA GPU telemetry through NVML (the ``pynvml`` module of nvidia-ml-py).

NVML is initialised once, on first use. Each query is made on its own: a query the device does
not support, or one that fails for any other reason, leaves that figure ``None`` and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from profilers.telemetry.readings import (
    LibrarySampler,
    as_float,
    as_int,
    as_text,
    describe,
    query,
)
from profilers.telemetry.samples import GpuSample

try:
    import pynvml
except ImportError:  # nvidia-ml-py is a dependency, but a broken install must not break plmprof
    pynvml = None


def _cuda_version(value: int | None) -> str | None:
    """NVML's CUDA driver version integer (12040) as text ("12.4")."""
    if value is None:
        return None
    return f"{value // 1000}.{(value % 1000) // 10}"


class NvmlSampler(LibrarySampler[GpuSample]):
    """Samples every NVIDIA GPU NVML can see, or only ``indices`` when given.

    ``available`` and ``reason`` trigger the one-time initialisation. ``reason`` reads
    "NVML not available: <why>" when NVML cannot be used, else ``None``.
    """

    def __init__(self, indices: Sequence[int] | None = None) -> None:
        super().__init__()
        self._indices = None if indices is None else tuple(indices)
        self._names: dict[int, str] = {}
        self._uuids: dict[int, str] = {}

    def _open(self) -> None:
        if pynvml is None:
            self._reason = "NVML not available: the nvidia-ml-py package is not installed"
            return
        try:
            pynvml.nvmlInit()
        except Exception as error:
            self._reason = f"NVML not available: {describe(error)}"
            return
        self._opened = True
        try:
            count = int(pynvml.nvmlDeviceGetCount())
        except Exception as error:
            self._reason = f"NVML not available: cannot count GPUs: {describe(error)}"
            return
        wanted = range(count) if self._indices is None else self._indices
        failures = []
        for index in wanted:
            if not 0 <= index < count:
                failures.append(f"GPU {index} does not exist ({count} found)")
                continue
            try:
                self._handles.append((index, pynvml.nvmlDeviceGetHandleByIndex(index)))
            except Exception as error:
                failures.append(f"GPU {index}: {describe(error)}")
        if not self._handles:
            why = "; ".join(failures) if failures else "no NVIDIA GPU found"
            self._reason = f"NVML not available: {why}"
        elif failures:
            self._reason = "some GPUs not readable: " + "; ".join(failures)

    def _shut(self) -> None:
        if pynvml is not None:
            query(pynvml.nvmlShutdown)

    def _sample_one(self, index: int, handle: Any) -> GpuSample:
        nv = pynvml
        name = self._names.get(index)
        if name is None:
            name = as_text(query(lambda: nv.nvmlDeviceGetName(handle)))
            if name is not None:
                self._names[index] = name
        uuid = self._uuids.get(index)
        if uuid is None:
            uuid = as_text(query(lambda: nv.nvmlDeviceGetUUID(handle)))
            if uuid is not None:
                self._uuids[index] = uuid
        rates = query(lambda: nv.nvmlDeviceGetUtilizationRates(handle))
        memory = query(lambda: nv.nvmlDeviceGetMemoryInfo(handle))
        return GpuSample(
            index=index,
            name=name,
            uuid=uuid,
            utilization_pct=as_float(getattr(rates, "gpu", None)),
            memory_utilization_pct=as_float(getattr(rates, "memory", None)),
            memory_used_bytes=as_int(getattr(memory, "used", None)),
            memory_total_bytes=as_int(getattr(memory, "total", None)),
            power_w=as_float(query(lambda: nv.nvmlDeviceGetPowerUsage(handle)), 1000.0),
            power_limit_w=as_float(
                query(lambda: nv.nvmlDeviceGetEnforcedPowerLimit(handle)), 1000.0
            ),
            temperature_c=as_float(
                query(lambda: nv.nvmlDeviceGetTemperature(handle, nv.NVML_TEMPERATURE_GPU))
            ),
            sm_clock_mhz=as_int(query(lambda: nv.nvmlDeviceGetClockInfo(handle, nv.NVML_CLOCK_SM))),
            memory_clock_mhz=as_int(
                query(lambda: nv.nvmlDeviceGetClockInfo(handle, nv.NVML_CLOCK_MEM))
            ),
            energy_mj=as_int(query(lambda: nv.nvmlDeviceGetTotalEnergyConsumption(handle))),
            process_memory_bytes=query(
                lambda: _process_memory(nv.nvmlDeviceGetComputeRunningProcesses(handle))
            ),
        )

    def cuda_devices(self, visible: str | None) -> list[int] | None:
        """The NVML indices of the GPUs a CUDA program sees under ``CUDA_VISIBLE_DEVICES`` =
        ``visible`` (``cuda:0`` first), read without loading CUDA; ``None`` when NVML is not
        available (``reason`` says why). See ``cuda_visible``."""
        if not self.available:
            return None
        return cuda_visible(visible, [(gpu.index, gpu.uuid) for gpu in self.sample()])

    def device_info(self) -> list[dict[str, Any]]:
        """Static facts per GPU for ``plmprof devices``; an empty list when NVML is not available.

        Keys: index, name, uuid, memory_total_bytes, power_limit_w, driver_version,
        cuda_driver_version (each ``None`` where its query failed).
        """
        if not self.available:
            return []
        nv = pynvml
        driver = as_text(query(lambda: nv.nvmlSystemGetDriverVersion()))
        cuda = _cuda_version(as_int(query(lambda: nv.nvmlSystemGetCudaDriverVersion())))
        result = []
        for gpu in self.sample():
            result.append(
                {
                    "index": gpu.index,
                    "name": gpu.name,
                    "uuid": gpu.uuid,
                    "memory_total_bytes": gpu.memory_total_bytes,
                    "power_limit_w": gpu.power_limit_w,
                    "driver_version": driver,
                    "cuda_driver_version": cuda,
                }
            )
        return result


def cuda_visible(visible: str | None, gpus: Sequence[tuple[int, str | None]]) -> list[int]:
    """Which of ``gpus`` ((NVML index, UUID) pairs) CUDA exposes under ``CUDA_VISIBLE_DEVICES`` =
    ``visible``, in the order it numbers them, read as CUDA reads it: unset, every GPU; else a
    comma list of indices or UUIDs (``GPU-…``, any prefix naming one GPU only), ending at the
    first entry that names no GPU, or one already listed (so ``""`` or ``-1`` hides them all).

    Indices are NVML's, in PCI bus order; CUDA numbers by PCI bus too when
    ``CUDA_DEVICE_ORDER=PCI_BUS_ID``, and otherwise puts the fastest GPU first, which differs
    only on a machine with GPUs of different models."""
    if visible is None:
        return [index for index, _ in gpus]
    indices = {index for index, _ in gpus}
    chosen: list[int] = []
    for entry in (e.strip() for e in visible.split(",")):
        if entry.isdigit():
            found = [int(entry)] if int(entry) in indices else []
        else:
            found = [i for i, uuid in gpus if uuid and entry and uuid.startswith(entry)]
        if len(found) != 1 or found[0] in chosen:
            break
        chosen.append(found[0])
    return chosen


def _process_memory(processes: Any) -> dict[int, int]:
    """pid -> used GPU memory; processes whose figure NVML does not give are left out."""
    result: dict[int, int] = {}
    for process in processes:
        used = getattr(process, "usedGpuMemory", None)
        pid = getattr(process, "pid", None)
        if isinstance(pid, int) and isinstance(used, int):
            result[pid] = result.get(pid, 0) + used
    return result
