"""Forward FLOPs, device peaks and model FLOPs utilisation (MFU).

FLOPs (PaLM appendix B convention), forward pass of one sequence of S tokens::

    F = 2·N·S + 4·Σ_layers(d_attn_l)·S²

N counts the weights of the Linear layers the forward pass runs (no embedding lookups, biases,
norms or unused heads); d_attn_l = heads × head_dim of layer l, given per layer so that pruned heads
can differ between layers. Useful FLOPs count real tokens, padded FLOPs the tokens the device
computed; MFU = achieved FLOP/s ÷ (peak per unit × units occupied), reported for both.

Peaks are dense (no 2:4 sparsity) vendor figures per compute unit: per GPU, per NeuronCore (a
chip's figure divided by its cores, since a Neuron worker runs on one core unless it spreads
batches over several), per card. The units a run occupies are what its workers report
(``Loaded.compute_units``), counted once however many workers share one; a new device family
plugs in by reporting its units and adding entries here with the matching ``unit``. A CPU's peak
is not knowable from inside a VM, so none is given: the user passes ``--peak-tflops``.

Longer than plmprof's ~400-line guide because the peak table (data, each row with its source)
sits beside the lookup and the MFU arithmetic that read it: one idea, one place to check it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from engines.errors import InvalidInputError


def flops_per_sequence(linear_params: int, attn_dims: Sequence[int], tokens: int) -> int:
    """Forward FLOPs of one sequence of ``tokens`` tokens: 2·N·S + 4·Σ(d_attn_l)·S².

    ``attn_dims`` holds one entry per layer (heads × head_dim of that layer).
    """
    if linear_params < 0 or tokens < 0 or any(d < 0 for d in attn_dims):
        raise ValueError("parameters, attention widths and tokens must not be negative")
    return 2 * linear_params * tokens + 4 * sum(attn_dims) * tokens * tokens


def flops_total(linear_params: int, attn_dims: Sequence[int], token_counts: Iterable[int]) -> int:
    """Sum of ``flops_per_sequence`` over sequences of the given token counts.

    Pass real token counts for useful FLOPs, and the padded length once per sequence of a batch for
    the FLOPs the device computed.
    """
    return sum(flops_per_sequence(linear_params, attn_dims, s) for s in token_counts)


# ---------------------------------------------------------------------------------------------
# Peaks
# ---------------------------------------------------------------------------------------------

DTYPES = ("bf16", "fp16", "tf32", "fp32")

_DTYPE_ALIASES: dict[str, str] = {
    "bf16": "bf16",
    "bfloat16": "bf16",
    "fp16": "fp16",
    "float16": "fp16",
    "half": "fp16",
    "f16": "fp16",
    "tf32": "tf32",
    "fp32": "fp32",
    "float32": "fp32",
    "float": "fp32",
    "f32": "fp32",
}


def normalize_dtype(dtype: str) -> str:
    """ "torch.bfloat16", "BF16", "bfloat16" -> "bf16"; unknown names come back lower-cased."""
    key = dtype.strip().lower().removeprefix("torch.")
    return _DTYPE_ALIASES.get(key, key)


def normalize_device_name(name: str) -> str:
    """Lower case, runs of anything but letters and digits turned into single spaces."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", name.lower()).split())


@dataclass(frozen=True)
class PeakEntry:
    """Dense peaks of one device kind, TFLOP/s per ``unit``."""

    name: str
    source: str
    # dtype -> (TFLOP/s, what the figure is)
    peaks: Mapping[str, tuple[float, str]]
    # dtype -> why no peak is given for it
    missing: Mapping[str, str] = field(default_factory=dict)
    unit: str = "per device"


_NV = "vendor data sheet"
_H100_DS = f"{_NV}: NVIDIA H100 Tensor Core GPU (dense = half the sparsity figure)"
_H200_DS = f"{_NV}: NVIDIA H200 Tensor Core GPU (dense = half the sparsity figure)"
_NO_TC_BF16 = "{} has no bf16 tensor cores; pass --peak-tflops"
_NO_TF32 = "{} has no TF32 tensor cores; pass --peak-tflops"
_NEURON_DS = "AWS Neuron docs, {} architecture page"


def _tensor_cores(half: float, *, tf32: float, fp32: float) -> dict[str, tuple[float, str]]:
    """Dense peaks of a GPU whose bf16 and fp16 tensor cores run at ``half`` TFLOP/s."""
    return {
        "bf16": (half, "dense BF16 tensor core"),
        "fp16": (half, "dense FP16 tensor core"),
        "tf32": (tf32, "dense TF32 tensor core"),
        "fp32": (fp32, "FP32, non-tensor-core"),
    }


_PER_CORE = "per NeuronCore"
_PER_CARD = "per Gaudi card"
_GAUDI_HC = "Intel, Hot Chips 2024 (Gaudi 3 / Gaudi 2 comparison): dense BF16 MME per card"
_GAUDI_NO_PEAK = "{} peak not published in the source used here; pass --peak-tflops"


def _per_core(chip: float, *, fp32: float, cores: int) -> dict[str, tuple[float, str]]:
    """Per-core peaks of a Neuron chip of ``cores`` cores whose matrix engines run bf16, fp16 and
    tf32 at ``chip`` TFLOP/s."""
    what = f"per NeuronCore (chip ÷ {cores})"
    return {
        "bf16": (chip / cores, f"BF16 {what}"),
        "fp16": (chip / cores, f"FP16 {what}"),
        "tf32": (chip / cores, f"TF32 {what}"),
        "fp32": (fp32 / cores, f"FP32 {what}"),
    }


# Keyed by a regular expression matched (re.search) against ``normalize_device_name(name)``.
# Order matters: the first match wins, so specific names come before general ones.
PEAK_TFLOPS: dict[str, PeakEntry] = {
    r"\bh100\b.*\bnvl\b": PeakEntry(
        "NVIDIA H100 NVL",
        _H100_DS,
        _tensor_cores(835.5, tf32=417.5, fp32=60.0),
    ),
    r"\bh100\b.*\bpcie\b": PeakEntry(
        "NVIDIA H100 PCIe",
        _H100_DS,
        _tensor_cores(756.0, tf32=378.0, fp32=51.0),
    ),
    r"\bh200\b.*\bnvl\b": PeakEntry(
        "NVIDIA H200 NVL",
        _H200_DS,
        _tensor_cores(835.5, tf32=417.5, fp32=60.0),
    ),
    r"\bh200\b": PeakEntry(
        "NVIDIA H200 SXM",
        _H200_DS,
        _tensor_cores(989.0, tf32=494.5, fp32=67.0),
    ),
    # "NVIDIA H100 80GB HBM3" (SXM5) and any other H100 not named PCIe or NVL
    r"\bh100\b": PeakEntry(
        "NVIDIA H100 SXM",
        _H100_DS,
        _tensor_cores(989.0, tf32=494.5, fp32=67.0),
    ),
    r"\ba100\b": PeakEntry(
        "NVIDIA A100",
        f"{_NV}: NVIDIA A100 Tensor Core GPU",
        _tensor_cores(312.0, tf32=156.0, fp32=19.5),
    ),
    r"\ba10g\b": PeakEntry(
        "NVIDIA A10G",
        f"{_NV}: NVIDIA A10G as specified for AWS G5 (not on NVIDIA's public site)",
        _tensor_cores(70.0, tf32=35.0, fp32=35.0),
    ),
    r"\ba10\b": PeakEntry(
        "NVIDIA A10",
        f"{_NV}: NVIDIA A10 Tensor Core GPU",
        _tensor_cores(125.0, tf32=62.5, fp32=31.2),
    ),
    r"\bl4\b": PeakEntry(
        "NVIDIA L4",
        f"{_NV}: NVIDIA L4 Tensor Core GPU (dense = half the sparsity figure)",
        _tensor_cores(121.0, tf32=60.0, fp32=30.3),
    ),
    r"\bt4\b": PeakEntry(
        "NVIDIA T4",
        f"{_NV}: NVIDIA T4 Tensor Core GPU",
        {
            "fp16": (65.0, "FP16/FP32-mixed tensor core"),
            "fp32": (8.1, "FP32, non-tensor-core"),
        },
        missing={
            "bf16": _NO_TC_BF16.format("T4 (Turing)"),
            "tf32": _NO_TF32.format("T4 (Turing)"),
        },
    ),
    r"\bv100s\b": PeakEntry(
        "NVIDIA V100S PCIe",
        f"{_NV}: NVIDIA V100 Tensor Core GPU",
        {
            "fp16": (130.0, "FP16 tensor core"),
            "fp32": (16.4, "FP32, non-tensor-core"),
        },
        missing={
            "bf16": _NO_TC_BF16.format("V100 (Volta)"),
            "tf32": _NO_TF32.format("V100 (Volta)"),
        },
    ),
    r"\bv100\b.*\bpcie\b": PeakEntry(
        "NVIDIA V100 PCIe",
        f"{_NV}: NVIDIA V100 Tensor Core GPU",
        {
            "fp16": (112.0, "FP16 tensor core"),
            "fp32": (14.0, "FP32, non-tensor-core"),
        },
        missing={
            "bf16": _NO_TC_BF16.format("V100 (Volta)"),
            "tf32": _NO_TF32.format("V100 (Volta)"),
        },
    ),
    r"\bv100\b": PeakEntry(
        "NVIDIA V100 SXM2",
        f"{_NV}: NVIDIA V100 Tensor Core GPU",
        {
            "fp16": (125.0, "FP16 tensor core"),
            "fp32": (15.7, "FP32, non-tensor-core"),
        },
        missing={
            "bf16": _NO_TC_BF16.format("V100 (Volta)"),
            "tf32": _NO_TF32.format("V100 (Volta)"),
        },
    ),
    # Neuron figures are per NeuronCore, the unit a worker occupies: the chip figure from the
    # architecture page divided by the chip's cores.
    r"\bneuron ?cores? ?v2\b|\bnc ?v2\b": PeakEntry(
        "AWS NeuronCore-v2",
        _NEURON_DS.format("Inferentia2/Trainium") + " (chip figure ÷ 2 NeuronCores)",
        _per_core(190.0, fp32=47.5, cores=2),
        unit=_PER_CORE,
    ),
    r"\binf(erentia)? ?2\b": PeakEntry(
        "AWS Inferentia2 NeuronCore-v2",
        _NEURON_DS.format("Inferentia2") + " (190 TFLOP/s BF16, 47.5 FP32 per chip ÷ 2 cores)",
        _per_core(190.0, fp32=47.5, cores=2),
        unit=_PER_CORE,
    ),
    r"\btrn ?2\b|\btrainium ?2\b": PeakEntry(
        "AWS Trainium2 NeuronCore-v3",
        _NEURON_DS.format("Trainium2")
        + " (667 TFLOP/s BF16, 181 FP32 per chip ÷ 8 physical cores; a logical core of LNC=2 "
        "counts as two)",
        _per_core(667.0, fp32=181.0, cores=8),
        unit=_PER_CORE,
    ),
    r"\btrn ?1n?\b|\btrainium ?1?\b": PeakEntry(
        "AWS Trainium1 NeuronCore-v2",
        _NEURON_DS.format("Trainium") + " (190 TFLOP/s BF16, 47.5 FP32 per chip ÷ 2 cores)",
        _per_core(190.0, fp32=47.5, cores=2),
        unit=_PER_CORE,
    ),
    # Intel Gaudi figures are per card, the unit a worker occupies; the bridge names the card
    # "GAUDI2" / "GAUDI3", HLML and hl-smi by its model number (HL-225, HL-325L, ...).
    r"\bgaudi ?3\b|\bhl ?3[0-9]{2}": PeakEntry(
        "Intel Gaudi 3",
        _GAUDI_HC + " (1,835 TFLOP/s)",
        {"bf16": (1835.0, "BF16 per card")},
        missing={dt: _GAUDI_NO_PEAK.format(dt.upper()) for dt in ("fp16", "tf32", "fp32")},
        unit=_PER_CARD,
    ),
    r"\bgaudi ?2\b|\bhl ?2[0-9]{2}": PeakEntry(
        "Intel Gaudi 2",
        _GAUDI_HC + " (432 TFLOP/s)",
        {"bf16": (432.0, "BF16 per card")},
        missing={dt: _GAUDI_NO_PEAK.format(dt.upper()) for dt in ("fp16", "tf32", "fp32")},
        unit=_PER_CARD,
    ),
}

CPU_REASON = "CPU peak is not knowable from inside a VM; pass --peak-tflops"

_CPU_PATTERN = re.compile(
    r"\b(cpu|epyc|xeon|ryzen|threadripper|core i[3579]|graviton|neoverse|aarch64|x86 64"
    r"|apple m\d)\b"
)


@dataclass(frozen=True)
class PeakLookup:
    """A peak to divide by, or why there is none."""

    tflops: float | None
    source: str | None
    reason: str | None
    device: str | None = None  # the table entry matched, e.g. "NVIDIA H100 SXM"
    dtype: str | None = None  # normalized dtype, e.g. "bf16"
    unit: str | None = None  # "per device", "per NeuronCore", "per unit" (user-given)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


USER_UNIT = "per unit (one GPU, one NeuronCore, one Gaudi card, or the host's CPU)"


def user_peak(tflops: float) -> PeakLookup:
    """A peak given by the user (``--peak-tflops``)."""
    if not math.isfinite(tflops) or tflops <= 0.0:
        raise InvalidInputError(f"--peak-tflops must be a positive number, got {tflops}")
    return PeakLookup(
        tflops=float(tflops),
        source="user-given (--peak-tflops), per compute unit the run occupies",
        reason=None,
        unit=USER_UNIT,
    )


def peak_tflops(device_name: str, dtype: str) -> PeakLookup:
    """Dense peak TFLOP/s of ``device_name`` for ``dtype`` from ``PEAK_TFLOPS``, or the reason why
    none is known. Never raises.

    fp32 gives the non-tensor-core FP32 peak (PyTorch does not use TF32 for fp32 matmuls unless
    asked); ask for "tf32" to get the TF32 tensor-core peak.
    """
    dt = normalize_dtype(dtype)
    name = normalize_device_name(device_name)
    for pattern, entry in PEAK_TFLOPS.items():
        if re.search(pattern, name) is None:
            continue
        if dt in entry.peaks:
            value, what = entry.peaks[dt]
            return PeakLookup(
                tflops=value,
                source=f"{entry.source}; {what}",
                reason=None,
                device=entry.name,
                dtype=dt,
                unit=entry.unit,
            )
        reason = entry.missing.get(dt, f"no {dt} peak known for {entry.name}; pass --peak-tflops")
        return PeakLookup(None, None, reason, device=entry.name, dtype=dt, unit=entry.unit)
    if _CPU_PATTERN.search(name) is not None:
        return PeakLookup(None, None, CPU_REASON, dtype=dt)
    return PeakLookup(
        None, None, f"no peak known for device {device_name!r}; pass --peak-tflops", dtype=dt
    )


# ---------------------------------------------------------------------------------------------
# MFU
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Efficiency:
    flops_per_sequence_mean: float
    useful_tflops: float  # achieved, real tokens only
    padded_tflops: float  # achieved, every token the device computed
    peak_tflops: float | None  # per compute unit
    peak_source: str | None
    useful_mfu: float | None  # fraction, 0..1
    hardware_mfu: float | None  # fraction, 0..1
    note: str | None
    devices: int = 1  # compute units occupied (GPUs, NeuronCores, the CPU)
    units: tuple[str, ...] = ()  # which ones, as the workers named them
    peak_total_tflops: float | None = None  # peak_tflops x devices: what MFU divides by
    mfu_error: bool = False  # True when an MFU came out above 100%: the measurement is wrong

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def efficiency(
    useful_flops: float,
    padded_flops: float,
    sequences: int,
    window_s: float,
    peak: PeakLookup,
    units: Sequence[str] = ("cpu",),
) -> Efficiency:
    """Achieved TFLOP/s and MFU over a measured window of ``window_s`` seconds.

    ``units`` are the compute units the run occupied (one entry per worker and unit; repeats
    count once). MFU = achieved FLOP/s ÷ (peak × units), for useful (real-token) and hardware
    (padded-token)
    FLOPs. Without a peak both MFUs are None and ``note`` says why. An MFU above 100% is never
    reported as a number: both MFUs are None, ``mfu_error`` is True and ``note`` starts with
    "measurement error: MFU above 100% (x%)".
    """
    if not math.isfinite(window_s) or window_s <= 0.0:
        raise ValueError(f"window_s must be positive, got {window_s!r}")
    occupied = tuple(sorted(set(units)))
    devices = len(occupied)
    if devices < 1:
        raise ValueError("a run occupies at least one compute unit")
    if useful_flops < 0 or padded_flops < 0 or sequences < 0:
        raise ValueError("FLOPs and sequences must not be negative")
    per_seq = useful_flops / sequences if sequences else 0.0
    useful_tflops = useful_flops / window_s / 1e12
    padded_tflops = padded_flops / window_s / 1e12

    def make(
        useful_mfu: float | None, hardware_mfu: float | None, note: str | None, error: bool = False
    ) -> Efficiency:
        return Efficiency(
            flops_per_sequence_mean=per_seq,
            useful_tflops=useful_tflops,
            padded_tflops=padded_tflops,
            peak_tflops=peak.tflops,
            peak_source=peak.source,
            useful_mfu=useful_mfu,
            hardware_mfu=hardware_mfu,
            note=note,
            devices=devices,
            units=occupied,
            peak_total_tflops=None if peak.tflops is None else peak.tflops * devices,
            mfu_error=error,
        )

    if peak.tflops is None or peak.tflops <= 0.0:
        return make(None, None, peak.reason or "no peak TFLOP/s known; pass --peak-tflops")
    total_peak = peak.tflops * devices
    useful_mfu = useful_tflops / total_peak
    hardware_mfu = padded_tflops / total_peak
    worst = max(useful_mfu, hardware_mfu)
    if worst > 1.0:
        note = (
            f"measurement error: MFU above 100% ({worst * 100:.1f}%): "
            f"{max(useful_tflops, padded_tflops):.1f} TFLOP/s achieved against a peak of "
            f"{total_peak:g} TFLOP/s ({peak.source}); the timing, the FLOP count or the peak "
            "is wrong"
        )
        return make(None, None, note, error=True)
    return make(useful_mfu, hardware_mfu, None)


__all__ = [
    "CPU_REASON",
    "DTYPES",
    "PEAK_TFLOPS",
    "USER_UNIT",
    "Efficiency",
    "PeakEntry",
    "PeakLookup",
    "efficiency",
    "flops_per_sequence",
    "flops_total",
    "normalize_device_name",
    "normalize_dtype",
    "peak_tflops",
    "user_peak",
]
