import pytest
import torch

from engines.backends.neuron.worker import NeuronCoreDevice
from engines.backends.torch_device import TorchDevice
from engines.errors import InvalidInputError
from profilers.efficiency import (
    CPU_REASON,
    PEAK_TFLOPS,
    Efficiency,
    PeakLookup,
    efficiency,
    flops_per_sequence,
    flops_total,
    normalize_dtype,
    peak_tflops,
    user_peak,
)

ESM2_8M_N = 6 * 12 * 320**2
ESM2_8M_ATTN = [320] * 6


def test_esm2_8m_hand_computed_figure() -> None:
    assert ESM2_8M_N == 7_372_800
    assert flops_per_sequence(ESM2_8M_N, ESM2_8M_ATTN, 130) == 2_046_720_000


def test_flops_formula_terms() -> None:
    # linear term only
    assert flops_per_sequence(1000, [], 10) == 2 * 1000 * 10
    # attention term only, with per-layer widths (a pruned layer has a smaller d_attn)
    assert flops_per_sequence(0, [64, 32], 10) == 4 * 96 * 100
    assert flops_per_sequence(5, [8], 0) == 0
    with pytest.raises(ValueError):
        flops_per_sequence(-1, [8], 1)


def test_flops_total_useful_and_padded() -> None:
    useful = flops_total(ESM2_8M_N, ESM2_8M_ATTN, [130, 50])
    padded = flops_total(ESM2_8M_N, ESM2_8M_ATTN, [130, 130])
    assert useful == flops_per_sequence(ESM2_8M_N, ESM2_8M_ATTN, 130) + flops_per_sequence(
        ESM2_8M_N, ESM2_8M_ATTN, 50
    )
    assert padded == 2 * 2_046_720_000
    assert useful < padded


@pytest.mark.parametrize(
    ("name", "dtype", "tflops", "device"),
    [
        ("NVIDIA H100 80GB HBM3", "bf16", 989.0, "NVIDIA H100 SXM"),
        ("NVIDIA H100 80GB HBM3", "torch.float16", 989.0, "NVIDIA H100 SXM"),
        ("NVIDIA H100 PCIe", "bfloat16", 756.0, "NVIDIA H100 PCIe"),
        ("NVIDIA H200", "bf16", 989.0, "NVIDIA H200 SXM"),
        ("NVIDIA A100-SXM4-80GB", "bf16", 312.0, "NVIDIA A100"),
        ("NVIDIA A100 80GB PCIe", "fp16", 312.0, "NVIDIA A100"),
        ("NVIDIA A10G", "bf16", 70.0, "NVIDIA A10G"),
        ("NVIDIA L4", "bf16", 121.0, "NVIDIA L4"),
        ("Tesla T4", "fp16", 65.0, "NVIDIA T4"),
        ("Tesla V100-SXM2-16GB", "fp16", 125.0, "NVIDIA V100 SXM2"),
        ("Tesla V100-PCIE-32GB", "fp16", 112.0, "NVIDIA V100 PCIe"),
        ("Inferentia2", "bf16", 95.0, "AWS Inferentia2 NeuronCore-v2"),
        ("AWS NeuronCore (inf2, core 3)", "bf16", 95.0, "AWS Inferentia2 NeuronCore-v2"),
        ("AWS NeuronCore (inf2, core 3)", "fp32", 23.75, "AWS Inferentia2 NeuronCore-v2"),
        ("trn1", "bf16", 95.0, "AWS Trainium1 NeuronCore-v2"),
        ("AWS NeuronCore (trn2)", "bf16", 667.0 / 8, "AWS Trainium2 NeuronCore-v3"),
        ("NeuronCore-v2", "bf16", 95.0, "AWS NeuronCore-v2"),
    ],
)
def test_peak_lookup(name: str, dtype: str, tflops: float, device: str) -> None:
    peak = peak_tflops(name, dtype)
    assert peak.tflops == tflops
    assert peak.device == device
    assert peak.source
    assert peak.reason is None


def test_peak_sources_are_marked() -> None:
    for pattern in (r"\ba10g\b", r"\bl4\b", r"\bt4\b", r"\bv100\b"):
        assert PEAK_TFLOPS[pattern].source.startswith("vendor data sheet")
    assert all(entry.source for entry in PEAK_TFLOPS.values())
    assert "vendor data sheet" in (peak_tflops("NVIDIA L4", "bf16").source or "")


def test_fp32_is_marked_non_tensor_core_and_tf32_separate() -> None:
    fp32 = peak_tflops("NVIDIA A100-SXM4-40GB", "fp32")
    assert fp32.tflops == 19.5
    assert "non-tensor-core" in (fp32.source or "")
    tf32 = peak_tflops("NVIDIA A100-SXM4-40GB", "tf32")
    assert tf32.tflops == 156.0


def test_no_peak_reasons() -> None:
    cpu = peak_tflops("AMD EPYC 7R13 Processor", "fp32")
    assert cpu.tflops is None and cpu.reason == CPU_REASON
    assert "--peak-tflops" in CPU_REASON
    assert peak_tflops("cpu", "bf16").reason == CPU_REASON
    t4 = peak_tflops("Tesla T4", "bf16")
    assert t4.tflops is None and t4.reason is not None and "bf16" in t4.reason
    unknown = peak_tflops("Mystery Accelerator 9000", "bf16")
    assert unknown.tflops is None and "Mystery Accelerator 9000" in (unknown.reason or "")
    int8 = peak_tflops("NVIDIA H100 80GB HBM3", "int8")
    assert int8.tflops is None and int8.reason is not None


def test_device_patterns_do_not_cross_match() -> None:
    assert peak_tflops("NVIDIA A100", "bf16").device == "NVIDIA A100"  # not A10
    assert peak_tflops("NVIDIA A10", "bf16").device == "NVIDIA A10"  # not A100/A10G
    assert peak_tflops("NVIDIA GH200 480GB", "bf16").tflops is None  # not H200
    assert peak_tflops("NVIDIA L40S", "bf16").tflops is None  # not L4
    assert peak_tflops("trainium2", "bf16").device == "AWS Trainium2 NeuronCore-v3"  # not Trn1


def test_normalize_dtype() -> None:
    assert normalize_dtype("torch.bfloat16") == "bf16"
    assert normalize_dtype("HALF") == "fp16"
    assert normalize_dtype("float32") == "fp32"


def test_efficiency_mfu() -> None:
    # 100 sequences of 2.04672e9 useful FLOPs in 1 ms on one H100 SXM
    peak = peak_tflops("NVIDIA H100 80GB HBM3", "bf16")
    useful = 100 * 2_046_720_000
    e = efficiency(useful, 2 * useful, sequences=100, window_s=0.001, peak=peak)
    assert isinstance(e, Efficiency)
    assert e.flops_per_sequence_mean == 2_046_720_000
    assert e.useful_tflops == pytest.approx(204.672)
    assert e.padded_tflops == pytest.approx(409.344)
    assert e.peak_tflops == 989.0
    assert e.useful_mfu == pytest.approx(204.672 / 989.0)
    assert e.hardware_mfu == pytest.approx(409.344 / 989.0)
    assert e.note is None and e.mfu_error is False
    # two GPUs halve the MFU; two workers sharing one GPU do not
    e2 = efficiency(useful, 2 * useful, 100, 0.001, peak, units=("gpu:0", "gpu:1"))
    assert e2.useful_mfu == pytest.approx(204.672 / 1978.0)
    assert (e2.devices, e2.units, e2.peak_total_tflops) == (2, ("gpu:0", "gpu:1"), 1978.0)
    shared = efficiency(useful, 2 * useful, 100, 0.001, peak, units=("gpu:0", "gpu:0"))
    assert shared.devices == 1 and shared.useful_mfu == e.useful_mfu


def test_efficiency_without_peak_keeps_the_reason() -> None:
    e = efficiency(1e12, 1e12, 10, 1.0, peak_tflops("AMD EPYC", "fp32"))
    assert e.useful_tflops == 1.0
    assert e.useful_mfu is None and e.hardware_mfu is None
    assert e.note == CPU_REASON
    assert e.peak_tflops is None


def test_mfu_above_100_percent_is_not_reported() -> None:
    peak = user_peak(1.0)
    e = efficiency(useful_flops=1.0e12, padded_flops=1.5e12, sequences=1, window_s=1.0, peak=peak)
    assert e.useful_mfu is None and e.hardware_mfu is None
    assert e.mfu_error is True
    assert e.note is not None
    assert e.note.startswith("measurement error: MFU above 100% (150.0%)")
    # exactly 100% is still a number
    ok = efficiency(1.0e12, 1.0e12, 1, 1.0, peak)
    assert ok.hardware_mfu == 1.0 and ok.note is None


def test_efficiency_to_dict_and_validation() -> None:
    e = efficiency(2e12, 4e12, 4, 2.0, user_peak(10.0))
    d = e.to_dict()
    assert d["useful_mfu"] == pytest.approx(0.1)
    assert d["hardware_mfu"] == pytest.approx(0.2)
    assert d["peak_source"] == "user-given (--peak-tflops), per compute unit the run occupies"
    assert d["flops_per_sequence_mean"] == 5e11
    with pytest.raises(ValueError):
        efficiency(1.0, 1.0, 1, 0.0, user_peak(1.0))
    with pytest.raises(ValueError):
        efficiency(1.0, 1.0, 1, 1.0, user_peak(1.0), units=())
    with pytest.raises(InvalidInputError):
        user_peak(-5.0)
    assert isinstance(PeakLookup(None, None, "x").to_dict(), dict)


# --- the peak follows the compute units the run occupies -------------------------------------


def _neuron(
    cores: str | None, *, target: str = "inf2", parallel: bool = False, visible: int | None = None
) -> NeuronCoreDevice:
    return NeuronCoreDevice(
        torch.device("cpu"),
        target=target,
        cores=cores,
        data_parallel=parallel,
        visible_cores=visible,
        logical_size=2 if target == "trn2" else 1,
    )


def _neuron_mfu(workers: list[NeuronCoreDevice], achieved_tflops: float) -> Efficiency:
    """MFU of a run whose workers ran on these devices and achieved this much in one second."""
    peak = peak_tflops(workers[0].name, "bf16")
    units = [unit for device in workers for unit in device.compute_units()]
    flops = achieved_tflops * 1e12
    return efficiency(flops, flops, 1, 1.0, peak, units)


def test_neuron_mfu_one_core() -> None:
    # One worker pinned to one NeuronCore doing 47.5 TFLOP/s is at half of that core's 95.
    # (Matched to the chip's 190 it read 25%: 2x too low.)
    e = _neuron_mfu([_neuron("0")], 47.5)
    assert (e.devices, e.units, e.peak_tflops) == (1, ("neuroncore:0",), 95.0)
    assert e.useful_mfu == pytest.approx(0.5)
    # Not pinned and not spreading batches: the model runs on one core of the 24 it may see.
    alone = _neuron_mfu([_neuron(None, visible=24)], 47.5)
    assert alone.units == ("neuroncore:0",) and alone.useful_mfu == pytest.approx(0.5)


def test_neuron_mfu_two_cores_of_one_chip() -> None:
    # Two workers, one per core (--devices neuron:0 neuron:1), 95 TFLOP/s together: 50%
    # (two distinct worker devices x the chip's 190 read 25%).
    e = _neuron_mfu([_neuron("0"), _neuron("1")], 95.0)
    assert (e.devices, e.peak_total_tflops) == (2, 190.0)
    assert e.useful_mfu == pytest.approx(0.5)


def test_neuron_mfu_one_chip_by_data_parallel() -> None:
    # One worker spreading its batches over both cores of the chip occupies the whole chip.
    e = _neuron_mfu([_neuron("0-1", parallel=True)], 95.0)
    assert e.units == ("neuroncore:0", "neuroncore:1")
    assert e.peak_total_tflops == 190.0 and e.useful_mfu == pytest.approx(0.5)


def test_neuron_mfu_twelve_chips() -> None:
    # inf2.48xlarge: 12 chips, 24 workers each pinned to one core, 1,140 TFLOP/s together: 50%.
    # (Plain "neuron" x 24 workers counted one device of 190 TFLOP/s: 600%, 12x too high.)
    e = _neuron_mfu([_neuron(str(core)) for core in range(24)], 1140.0)
    assert (e.devices, e.peak_total_tflops) == (24, 2280.0)
    assert e.useful_mfu == pytest.approx(0.5)
    assert not e.mfu_error


def test_trainium2_logical_core_counts_its_physical_cores() -> None:
    # trn2 with LNC=2: one logical core is two NeuronCore-v3 of 667/8 TFLOP/s each.
    e = _neuron_mfu([_neuron("0", target="trn2")], 667.0 / 8)
    assert e.units == ("neuroncore:0.0", "neuroncore:0.1")
    assert e.useful_mfu == pytest.approx(0.5)


def test_cuda_units_follow_the_visible_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert TorchDevice(torch.device("cuda:0")).compute_units() == ("gpu:3",)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert TorchDevice(torch.device("cuda:1")).compute_units() == ("gpu:1",)
    assert TorchDevice(torch.device("cpu")).compute_units() == ("cpu",)


@pytest.mark.hpu
@pytest.mark.parametrize(
    ("name", "tflops", "device"),
    [
        ("GAUDI2", 432.0, "Intel Gaudi 2"),
        ("GAUDI2, module 3", 432.0, "Intel Gaudi 2"),
        ("HL-225", 432.0, "Intel Gaudi 2"),
        ("GAUDI3", 1835.0, "Intel Gaudi 3"),
        ("HL-325L", 1835.0, "Intel Gaudi 3"),
    ],
)
def test_gaudi_bf16_peaks_are_per_card_with_their_source(
    name: str, tflops: float, device: str
) -> None:
    peak = peak_tflops(name, "bf16")
    assert (peak.tflops, peak.device, peak.unit) == (tflops, device, "per Gaudi card")
    assert peak.source is not None and "Hot Chips 2024" in peak.source


@pytest.mark.hpu
def test_gaudi_fp32_has_no_peak_and_says_so() -> None:
    peak = peak_tflops("GAUDI2", "fp32")
    assert peak.tflops is None
    assert peak.reason == "FP32 peak not published in the source used here; pass --peak-tflops"
