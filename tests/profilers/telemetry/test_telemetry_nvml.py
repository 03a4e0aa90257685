from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pynvml
import pytest

import profilers.telemetry.nvml as nvml_module
from profilers.telemetry import GpuSample, NvmlSampler

NOT_SUPPORTED = pynvml.NVML_ERROR_NOT_SUPPORTED


class FakeNvml:
    """Two GPUs: GPU 0 answers every query, GPU 1 only name, UUID and memory."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, count: int = 2) -> None:
        self.count = count
        self.init_calls = 0
        self.shutdown_calls = 0
        for name in dir(self):
            if name.startswith("nvml"):
                monkeypatch.setattr(pynvml, name, getattr(self, name))

    @staticmethod
    def _unsupported(handle: str) -> None:
        if handle == "gpu1":
            raise pynvml.NVMLError(NOT_SUPPORTED)

    def nvmlInit(self) -> None:
        self.init_calls += 1

    def nvmlShutdown(self) -> None:
        self.shutdown_calls += 1

    def nvmlDeviceGetCount(self) -> int:
        return self.count

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        return f"gpu{index}"

    def nvmlDeviceGetName(self, handle: str) -> str:
        return "NVIDIA H100 80GB HBM3" if handle == "gpu0" else "NVIDIA A10G"

    def nvmlDeviceGetUUID(self, handle: str) -> str:
        return f"GPU-0000-{handle}"

    def nvmlDeviceGetUtilizationRates(self, handle: str) -> Any:
        self._unsupported(handle)
        return SimpleNamespace(gpu=97, memory=41)

    def nvmlDeviceGetMemoryInfo(self, handle: str) -> Any:
        return SimpleNamespace(total=85_520_809_984, used=12_884_901_888, free=0)

    def nvmlDeviceGetPowerUsage(self, handle: str) -> int:
        self._unsupported(handle)
        return 350_123

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: str) -> int:
        self._unsupported(handle)
        return 700_000

    def nvmlDeviceGetTemperature(self, handle: str, sensor: int) -> int:
        assert sensor == pynvml.NVML_TEMPERATURE_GPU
        self._unsupported(handle)
        return 61

    def nvmlDeviceGetClockInfo(self, handle: str, clock: int) -> int:
        self._unsupported(handle)
        return {pynvml.NVML_CLOCK_SM: 1980, pynvml.NVML_CLOCK_MEM: 2619}[clock]

    def nvmlDeviceGetComputeRunningProcesses(self, handle: str) -> list[Any]:
        if handle == "gpu1":
            raise RuntimeError("not an NVMLError, still only this figure lost")
        return [
            SimpleNamespace(pid=111, usedGpuMemory=1 << 30),
            SimpleNamespace(pid=222, usedGpuMemory=None),  # NVML gives no figure
        ]

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: str) -> int:
        self._unsupported(handle)
        return 123_456_789

    def nvmlSystemGetDriverVersion(self) -> str:
        return "580.65.06"

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return 13000


def test_full_and_partial_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeNvml(monkeypatch)
    sampler = NvmlSampler()
    assert sampler.available
    assert sampler.reason is None
    full, partial = sampler.sample()
    assert full == GpuSample(
        index=0,
        name="NVIDIA H100 80GB HBM3",
        uuid="GPU-0000-gpu0",
        utilization_pct=97.0,
        memory_utilization_pct=41.0,
        memory_used_bytes=12_884_901_888,
        memory_total_bytes=85_520_809_984,
        power_w=350.123,
        power_limit_w=700.0,
        temperature_c=61.0,
        sm_clock_mhz=1980,
        memory_clock_mhz=2619,
        energy_mj=123_456_789,
        process_memory_bytes={111: 1 << 30},
    )
    assert partial == GpuSample(
        index=1,
        name="NVIDIA A10G",
        uuid="GPU-0000-gpu1",
        memory_used_bytes=12_884_901_888,
        memory_total_bytes=85_520_809_984,
    )


def test_initialises_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNvml(monkeypatch)
    sampler = NvmlSampler()
    assert fake.init_calls == 0  # lazy
    for _ in range(3):
        sampler.sample()
    assert sampler.available
    assert fake.init_calls == 1
    sampler.close()
    assert fake.shutdown_calls == 1
    sampler.close()
    assert fake.shutdown_calls == 1


def test_name_failure_is_none_and_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeNvml(monkeypatch, count=1)
    answers: list[Any] = [pynvml.NVMLError(pynvml.NVML_ERROR_UNKNOWN), "NVIDIA L4"]

    def name(handle: str) -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    monkeypatch.setattr(pynvml, "nvmlDeviceGetName", name)
    sampler = NvmlSampler()
    assert sampler.sample()[0].name is None
    assert sampler.sample()[0].name == "NVIDIA L4"
    assert sampler.sample()[0].name == "NVIDIA L4"  # cached: the fake has no answers left


def test_only_chosen_indices(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeNvml(monkeypatch)
    sampler = NvmlSampler(indices=[1])
    assert [gpu.index for gpu in sampler.sample()] == [1]


def test_index_out_of_range(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeNvml(monkeypatch)
    sampler = NvmlSampler(indices=[5])
    assert not sampler.available
    assert sampler.reason == "NVML not available: GPU 5 does not exist (2 found)"
    assert sampler.sample() == ()


def test_init_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeNvml(monkeypatch)

    def fail() -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlInit", fail)
    sampler = NvmlSampler()
    assert not sampler.available
    assert sampler.reason == "NVML not available: NVML Shared Library Not Found"
    assert sampler.sample() == ()
    assert sampler.device_info() == []


def test_no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeNvml(monkeypatch, count=0)
    sampler = NvmlSampler()
    assert not sampler.available
    assert sampler.reason == "NVML not available: no NVIDIA GPU found"


def test_count_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeNvml(monkeypatch)

    def fail() -> int:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)

    monkeypatch.setattr(pynvml, "nvmlDeviceGetCount", fail)
    sampler = NvmlSampler()
    assert not sampler.available
    assert sampler.reason == "NVML not available: cannot count GPUs: Driver Not Loaded"


def test_package_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nvml_module, "pynvml", None)
    sampler = NvmlSampler()
    assert not sampler.available
    assert sampler.reason == "NVML not available: the nvidia-ml-py package is not installed"
    assert sampler.sample() == ()


def test_device_info(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeNvml(monkeypatch)
    assert NvmlSampler().device_info() == [
        {
            "index": 0,
            "name": "NVIDIA H100 80GB HBM3",
            "uuid": "GPU-0000-gpu0",
            "memory_total_bytes": 85_520_809_984,
            "power_limit_w": 700.0,
            "driver_version": "580.65.06",
            "cuda_driver_version": "13.0",
        },
        {
            "index": 1,
            "name": "NVIDIA A10G",
            "uuid": "GPU-0000-gpu1",
            "memory_total_bytes": 85_520_809_984,
            "power_limit_w": None,
            "driver_version": "580.65.06",
            "cuda_driver_version": "13.0",
        },
    ]


def test_device_info_driver_queries_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeNvml(monkeypatch, count=1)

    def fail() -> Any:
        raise pynvml.NVMLError(NOT_SUPPORTED)

    monkeypatch.setattr(pynvml, "nvmlSystemGetDriverVersion", fail)
    monkeypatch.setattr(pynvml, "nvmlSystemGetCudaDriverVersion", fail)
    (info,) = NvmlSampler().device_info()
    assert info["driver_version"] is None
    assert info["cuda_driver_version"] is None
    assert info["name"] == "NVIDIA H100 80GB HBM3"


def test_real_nvml_never_raises() -> None:
    sampler = NvmlSampler()
    try:
        if sampler.available:
            gpus = sampler.sample()
            assert len(gpus) >= 1
            assert all(isinstance(gpu, GpuSample) for gpu in gpus)
        else:
            assert sampler.reason is not None
            assert sampler.reason.startswith("NVML not available: ")
            assert sampler.sample() == ()
    finally:
        sampler.close()
