"""``RunSpec``: what one run executes. Frozen, validated on creation, JSON round-trippable.

The TUI form, the CLI flags and a sweep grid all produce one; nothing else configures a run.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from engines.catalog import DEFAULT_MODEL, get_model_info
from engines.errors import InvalidInputError

DTYPES = ("fp32", "fp16", "bf16")
INT8_SCHEMES = ("none", "dynamic", "weight-only")
ATTENTIONS = ("eager", "sdpa", "flash_attention_2", "varlen", "flex")
# Attention kernels of the packed path (engines.packed): sdpa there is SDPA on jagged tensors.
PACKED_ATTENTIONS = ("sdpa", "varlen", "flex")
COMPILE_MODES = ("none", "default", "max-autotune", "reduce-overhead")
MODES = ("inference", "training")
NEURON_TARGETS = ("inf2", "trn1", "trn1n", "trn2")
NEURON_OPTLEVELS = (1, 2, 3)
# Intel Gaudi execution modes (PT_HPU_LAZY_MODE=1 / 0); torch.compile on Gaudi runs in eager mode.
HPU_MODES = ("lazy", "eager")
_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?|neuron(:\d+)?|hpu(:\d+)?)$")
_PRUNE = re.compile(r"^(none|2:4|unstructured:(0(\.\d+)?|1(\.0+)?))$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNIT_MB = {
    "": 1,
    "m": 1,
    "mb": 1,
    "mib": 1.048576,
    "g": 1000,
    "gb": 1000,
    "gib": 1073.741824,
    "t": 1_000_000,
    "tb": 1_000_000,
    "k": 0.001,
    "kb": 0.001,
}


def parse_size_mb(text: str) -> int:
    """``"4GB"``, ``"512MB"``, ``"2G"`` or a plain number of MB, as whole megabytes."""
    match = _SIZE.match(text)
    unit = (match.group(2) or "").lower() if match else None
    if match is None or unit not in _UNIT_MB:
        raise InvalidInputError(f"cannot read memory size '{text}'; write e.g. 4GB or 512MB")
    return max(1, round(float(match.group(1)) * _UNIT_MB[unit]))


@dataclass(frozen=True)
class RunSpec:
    """One run. Sizes are in residues unless named ``tokens``; times in seconds.

    Exactly one workload source is set: ``seq_len`` (synthetic), ``lengths`` (a named length
    distribution) or ``fasta`` (a file).
    """

    model: str = DEFAULT_MODEL
    weights: str = "random"
    device: str = "cpu"
    dtype: str = "fp32"
    autocast: bool = False
    int8: str = "none"
    prune: str = "none"
    prune_layers: int = 0
    prune_heads: int = 0
    attention: str = "sdpa"
    packing: bool = False
    compile: str = "none"
    batch_size: int = 8
    token_budget: int | None = None
    buckets: tuple[int, ...] = ()
    seq_len: int | None = 256
    lengths: str | None = None
    fasta: str | None = None
    num_sequences: int | None = None
    mode: str = "inference"
    workers: int = 1
    devices: tuple[str, ...] = ()
    memory_limit_mb: int | None = None
    warmup: int = 2
    duration_s: float = 10.0
    min_iters: int = 10
    max_iters: int | None = None
    threads: int | None = None
    seed: int = 0
    quality: bool = False
    neuron_target: str = "inf2"
    neuron_optlevel: int = 2
    neuron_data_parallel: bool = False
    hpu_mode: str = "lazy"
    hpu_graphs: bool = False
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "buckets", tuple(self.buckets))
        object.__setattr__(self, "devices", tuple(self.devices))
        object.__setattr__(self, "notes", tuple(self.notes))
        _validate(self)

    @property
    def batching(self) -> str:
        if self.packing:
            return "packed"
        if self.buckets:
            return "buckets"
        return "token-budget" if self.token_budget else "fixed"

    def worker_devices(self) -> tuple[str, ...]:
        """Each worker's device: ``devices`` when given, else ``workers`` copies of ``device``."""
        return self.devices or (self.device,) * self.workers

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["buckets"] = list(self.buckets)
        data["devices"] = list(self.devices)
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(f"unknown run settings: {', '.join(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> RunSpec:
        return dataclasses.replace(self, **changes)


def _choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidInputError(f"{name} '{value}' is not one of {', '.join(choices)}")


def _positive(name: str, value: float | None, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or value <= 0:
        raise InvalidInputError(f"{name} must be greater than 0 (got {value})")


def _validate(spec: RunSpec) -> None:
    get_model_info(spec.model)
    for device in (spec.device, *spec.devices):
        if not _DEVICE.match(device):
            raise InvalidInputError(
                f"unknown device '{device}'; use cpu, cuda, cuda:N, neuron, neuron:N, hpu or hpu:N"
            )
    _choice("dtype", spec.dtype, DTYPES)
    _choice("int8 scheme", spec.int8, INT8_SCHEMES)
    _choice("attention", spec.attention, ATTENTIONS)
    _choice("compile mode", spec.compile, COMPILE_MODES)
    _choice("mode", spec.mode, MODES)
    if not _PRUNE.match(spec.prune):
        raise InvalidInputError(
            f"prune '{spec.prune}' is not none, 2:4 or unstructured:S with 0 <= S <= 1"
        )
    if spec.prune_layers < 0 or spec.prune_heads < 0:
        raise InvalidInputError("--prune-layers and --prune-heads must be 0 or more")
    _positive("batch size", spec.batch_size)
    _positive("token budget", spec.token_budget, allow_none=True)
    _positive("duration", spec.duration_s)
    _positive("workers", spec.workers)
    _positive("memory limit", spec.memory_limit_mb, allow_none=True)
    _positive("number of sequences", spec.num_sequences, allow_none=True)
    _positive("max iterations", spec.max_iters, allow_none=True)
    _positive("threads", spec.threads, allow_none=True)
    if spec.min_iters < 1:
        raise InvalidInputError(f"min iterations must be at least 1 (got {spec.min_iters})")
    if spec.warmup < 0:
        raise InvalidInputError(f"warm-up must be 0 or more (got {spec.warmup})")
    if any(b <= 0 for b in spec.buckets):
        raise InvalidInputError(f"bucket boundaries must be positive (got {list(spec.buckets)})")
    if spec.devices and len(spec.devices) != spec.workers:
        raise InvalidInputError(
            f"{len(spec.devices)} devices given for {spec.workers} workers; give one per worker"
        )
    sources = [s for s in (spec.seq_len, spec.lengths, spec.fasta) if s is not None]
    if len(sources) != 1:
        raise InvalidInputError("give exactly one workload: --seq-len, --lengths or --fasta")
    _positive("sequence length", spec.seq_len, allow_none=True)
    if spec.token_budget and spec.buckets:
        raise InvalidInputError("--token-budget and --buckets are two batching schemes: pick one")
    _validate_packing(spec)
    _choice("Neuron target", spec.neuron_target, NEURON_TARGETS)
    if spec.neuron_optlevel not in NEURON_OPTLEVELS:
        raise InvalidInputError(f"Neuron optlevel must be 1, 2 or 3 (got {spec.neuron_optlevel})")
    _choice("HPU mode", spec.hpu_mode, HPU_MODES)


def _validate_packing(spec: RunSpec) -> None:
    if not spec.packing:
        if spec.attention not in ("eager", "sdpa", "flash_attention_2"):
            raise InvalidInputError(
                f"--attention {spec.attention} runs on packed rows: add --packing"
            )
        return
    if spec.buckets:
        raise InvalidInputError(
            "--packing fills rows up to a token budget; --buckets pads to fixed lengths: pick one"
        )
    if spec.attention not in PACKED_ATTENTIONS:
        raise InvalidInputError(
            f"--packing runs attention {', '.join(PACKED_ATTENTIONS)} "
            f"(sdpa restricted to each sequence), not {spec.attention}"
        )
