"""``RunSpec``: what one run executes. Frozen, validated on creation, JSON round-trippable.

The TUI form, the CLI flags and a sweep grid all produce one; nothing else configures a run.

Size: over 400 lines because every field is declared here with its metadata (help, kind, flag,
axis, group), which the CLI, the Setup form and the sweep read; splitting the declarations would
split the one source of the run's settings.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any

from engines.catalog import DEFAULT_MODEL, get_model_info
from engines.errors import InvalidInputError
from engines.fields import FieldInfo, field_infos, one_workload, setting
from engines.training.settings import FINETUNES, OPTIMIZERS, TASKS, validate_training

DTYPES = ("fp32", "fp16", "bf16")
INT8_SCHEMES = ("none", "dynamic", "weight-only")
ATTENTIONS = ("eager", "sdpa", "flash_attention_2", "varlen", "flex")
# Attention kernels of the packed path (engines.packed): sdpa there is SDPA on jagged tensors.
PACKED_ATTENTIONS = ("sdpa", "varlen", "flex")
COMPILE_MODES = ("none", "default", "max-autotune", "reduce-overhead")
MODES = ("inference", "training")
# Spellings a user may type for a mode.
_MODE_ALIASES = {"train": "training", "infer": "inference"}
NEURON_TARGETS = ("inf2", "trn1", "trn1n", "trn2")
NEURON_OPTLEVELS = (1, 2, 3)
# Intel Gaudi execution modes (PT_HPU_LAZY_MODE=1 / 0); torch.compile on Gaudi runs in eager mode.
HPU_MODES = ("lazy", "eager")
_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?|neuron(:\d+)?|hpu(:\d+)?|xla(:\d+)?)$")
_PRUNE = re.compile(r"^(none|2:4|unstructured:(0(\.\d+)?|1(\.0+)?))$")


@dataclass(frozen=True)
class RunSpec:
    """One run. Sizes are in residues unless named ``tokens``; times in seconds.

    Exactly one workload source is set: ``seq_len`` (synthetic), ``lengths`` (a named length
    distribution) or ``fasta`` (a file).

    Stopping rule: by default the batches are cycled until ``duration_s`` and ``min_iters`` are
    both met (or ``max_iters``). With ``passes`` N, every batch of the plan is measured exactly N
    times instead (the workers share each pass, each batch going to one worker), whatever the
    duration: the mode for "how long does this file take".
    """

    model: str = setting(
        DEFAULT_MODEL, "Model id (see `plmprof models`).", kind="str", short="m", axis="models"
    )
    weights: str = setting(
        "random",
        "random (default), cache (local HF cache only) or a local path.",
        kind="str",
        group="workload",
    )
    device: str = setting(
        "cpu",
        "cpu, cuda, cuda:N, neuron, hpu or hpu:N.",
        kind="str",
        short="d",
        axis="devices",
        commands=("run", "sweep"),
    )
    dtype: str = setting("fp32", "fp32, fp16 or bf16.", kind="str", axis="dtypes", choices=DTYPES)
    autocast: bool = setting(
        False,
        "Keep fp32 weights, autocast to --dtype.",
        kind="bool",
        commands=("run", "sweep"),
        group="measurement",
    )
    int8: str = setting(
        "none",
        "none, dynamic or weight-only.",
        kind="str",
        axis="int8",
        commands=("run", "sweep"),
        choices=INT8_SCHEMES,
    )
    prune: str = setting(
        "none", "none, unstructured:S or 2:4.", kind="str", axis="prunes", commands=("run", "sweep")
    )
    prune_layers: int = setting(0, "Drop the last N layers.", kind="int", commands=("run", "sweep"))
    prune_heads: int = setting(
        0, "Drop N attention heads per layer.", kind="int", commands=("run", "sweep")
    )
    attention: str = setting(
        "sdpa",
        "eager, sdpa or flash_attention_2; with --packing sdpa, varlen, flex.",
        kind="str",
        axis="attentions",
        choices=ATTENTIONS,
    )
    packing: bool = setting(
        False,
        "Pack sequences end to end in rows of --token-budget tokens.",
        kind="bool",
        commands=("run", "sweep"),
    )
    compile: str = setting(
        "none",
        "none, default, max-autotune or reduce-overhead.",
        kind="str",
        axis="compiles",
        commands=("run", "sweep"),
        choices=COMPILE_MODES,
    )
    batch_size: int = setting(8, "Sequences per batch.", kind="int", short="b", axis="batch_sizes")
    token_budget: int | None = setting(
        None,
        "Length-sorted batches of at most N padded tokens.",
        kind="int",
        axis="token_budgets",
        commands=("run", "sweep"),
    )
    buckets: tuple[int, ...] = setting(
        (),
        "Pad to the next of these token lengths, e.g. 128,256,512.",
        kind="ints",
        group="workload",
    )
    seq_len: int | None = setting(
        256, "Synthetic sequences of N residues.", kind="int", optional=True, axis="seq_lens"
    )
    lengths: str | None = setting(
        None,
        "Length distribution: fixed:N, uniform:A-B, uniref50-like, proteome.",
        kind="str",
        axis="lengths",
    )
    fasta: str | None = setting(None, "FASTA file to embed.", kind="str")
    num_sequences: int | None = setting(
        None, "Sequences to generate.", kind="int", flag="num-seqs", group="workload"
    )
    mode: str = setting(
        "inference",
        "inference, or train (fine-tuning; see the training settings).",
        kind="str",
        axis="modes",
        commands=("run", "sweep"),
        choices=MODES,
    )
    workers: int = setting(
        1, "Worker processes (model copies).", kind="int", commands=("run", "sweep")
    )
    devices: tuple[str, ...] = setting(
        (),
        "One device per worker, e.g. cuda:0,cuda:1.",
        kind="devices",
        commands=("run",),
        group="measurement",
    )
    memory_limit_mb: int | None = setting(
        None,
        "Per-worker memory cap, e.g. 4GB (RLIMIT_AS on CPU).",
        kind="size",
        flag="memory-limit",
        commands=("run", "sweep"),
        group="measurement",
    )
    warmup: int = setting(
        2, "Warm-up calls, excluded from statistics.", kind="int", commands=("run", "sweep")
    )
    duration_s: float = setting(
        10.0, "Minimum measured seconds.", kind="float", flag="duration", commands=("run", "sweep")
    )
    min_iters: int = setting(10, "Minimum measured batches.", kind="int", commands=("run", "sweep"))
    max_iters: int | None = setting(
        None,
        "Stop after N measured batches.",
        kind="int",
        commands=("run", "sweep"),
        group="measurement",
    )
    passes: int | None = setting(
        None,
        "Measure every sequence exactly N times (duration ignored).",
        kind="int",
        commands=("run", "sweep"),
        group="measurement",
    )
    threads: int | None = setting(
        None, "CPU threads per worker.", kind="int", commands=("run", "sweep"), group="measurement"
    )
    seed: int = setting(
        0, "Seed of synthetic sequences and random weights.", kind="int", group="workload"
    )
    quality: bool = setting(
        False,
        "Compare outputs with an fp32 reference.",
        kind="bool",
        commands=("run", "sweep"),
        group="measurement",
    )
    end_to_end: bool = setting(
        False,
        "Time each batch from sequence text to embeddings on the host (tokenise, copy, run, "
        "copy back), not the model call alone.",
        kind="bool",
        commands=("run", "sweep"),
        group="measurement",
    )
    neuron_target: str = setting(
        "inf2",
        "Neuron: inf2, trn1, trn1n or trn2.",
        kind="str",
        group="neuron",
        choices=NEURON_TARGETS,
    )
    neuron_optlevel: int = setting(
        2, "Neuron: neuronx-cc --optlevel 1, 2 or 3.", kind="int", flag="optlevel", group="neuron"
    )
    neuron_data_parallel: bool = setting(
        False,
        "Neuron: one torch_neuronx.DataParallel model over the visible cores.",
        kind="bool",
        flag="data-parallel",
        group="neuron",
    )
    hpu_mode: str = setting(
        "lazy",
        "Gaudi: lazy (PT_HPU_LAZY_MODE=1) or eager (needed by --compile).",
        kind="str",
        commands=("run", "sweep"),
        group="gaudi",
        choices=HPU_MODES,
    )
    hpu_graphs: bool = setting(
        False,
        "Gaudi: wrap the model in HPU graphs (lazy mode).",
        kind="bool",
        commands=("run", "sweep"),
        group="gaudi",
    )
    # Training (mode "training"); engines.training.settings checks them.
    task: str = setting(
        "mlm",
        "Training: mlm, classify or token-classify.",
        kind="str",
        axis="tasks",
        commands=("run", "sweep"),
        group="training",
        choices=TASKS,
    )
    labels: str | None = setting(
        None,
        "Training: id,label CSV/TSV for --fasta (else label= in FASTA headers, else random).",
        kind="str",
        commands=("run", "sweep"),
        group="training",
    )
    finetune: str = setting(
        "full",
        "Training: full, lora or head.",
        kind="str",
        axis="finetunes",
        commands=("run", "sweep"),
        group="training",
        choices=FINETUNES,
    )
    lora_rank: int = setting(
        8, "Training: LoRA rank.", kind="int", commands=("run", "sweep"), group="training"
    )
    lora_alpha: int = setting(
        16, "Training: LoRA alpha.", kind="int", commands=("run", "sweep"), group="training"
    )
    lora_targets: tuple[str, ...] = setting(
        (),
        "Training: LoRA target modules, e.g. query,key,value (default: the model's q/k/v).",
        kind="names",
        commands=("run", "sweep"),
        group="training",
    )
    grad_checkpointing: bool = setting(
        False,
        "Training: recompute each layer in the backward pass.",
        kind="bool",
        commands=("run", "sweep"),
        group="training",
    )
    optimizer: str = setting(
        "adamw",
        "Training: adamw (fused on CUDA) or sgd.",
        kind="str",
        commands=("run", "sweep"),
        group="training",
        choices=OPTIMIZERS,
    )
    lr: float = setting(
        1e-4, "Training: learning rate.", kind="float", commands=("run", "sweep"), group="training"
    )
    grad_accum: int = setting(
        1,
        "Training: batches per optimizer step.",
        kind="int",
        commands=("run", "sweep"),
        group="training",
    )
    eval_fraction: float = setting(
        0.1,
        "Training: share of the sequences held out for accuracy (seeded).",
        kind="float",
        commands=("run", "sweep"),
        group="training",
    )
    epochs: float = setting(
        3.0,
        "Training: epochs for the time-to-train estimate.",
        kind="float",
        commands=("run", "sweep"),
        group="training",
    )
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "buckets", tuple(self.buckets))
        object.__setattr__(self, "devices", tuple(self.devices))
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "lora_targets", tuple(self.lora_targets))
        object.__setattr__(self, "mode", _MODE_ALIASES.get(self.mode, self.mode))
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
        data["lora_targets"] = list(self.lora_targets)
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


SPEC_FIELDS: tuple[FieldInfo, ...] = field_infos(RunSpec)
FIELDS_BY_NAME = {info.name: info for info in SPEC_FIELDS}


def workload_fields(given: dict[str, Any]) -> dict[str, Any]:
    """``one_workload`` with RunSpec's default sequence length."""
    return one_workload(given, FIELDS_BY_NAME["seq_len"].default)


def window_warning(spec: RunSpec) -> str | None:
    """Says so when ``--seq-len`` is longer than the model's window: every sequence is cut."""
    window = get_model_info(spec.model).max_residues
    if spec.seq_len is None or window is None or spec.seq_len <= window:
        return None
    return (
        f"--seq-len {spec.seq_len} exceeds {spec.model}'s window of {window:,} residues: every "
        f"sequence is cut to {window:,}, and the figures are for {window:,} residues"
    )


def _choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidInputError(f"{name} '{value}' is not one of {', '.join(choices)}")


def _positive(name: str, value: float | None, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or not math.isfinite(value):
        raise InvalidInputError(f"{name} must be a finite number (got {value})")
    if value <= 0:
        raise InvalidInputError(f"{name} must be greater than 0 (got {value})")


def _validate(spec: RunSpec) -> None:
    get_model_info(spec.model)
    for device in (spec.device, *spec.devices):
        if not _DEVICE.match(device):
            raise InvalidInputError(
                f"unknown device '{device}'; use cpu, cuda, cuda:N, neuron, neuron:N, hpu, hpu:N "
                "or xla (Trainium training)"
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
    _positive("passes", spec.passes, allow_none=True)
    if spec.passes is not None and spec.max_iters is not None:
        raise InvalidInputError(
            "--passes measures every batch N times; --max-iters stops after N batches: pick one"
        )
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
    if spec.end_to_end and (spec.packing or spec.mode != "inference"):
        raise InvalidInputError(
            "--end-to-end times padded inference batches from their text: not with --packing "
            "or training"
        )
    _choice("Neuron target", spec.neuron_target, NEURON_TARGETS)
    if spec.neuron_optlevel not in NEURON_OPTLEVELS:
        raise InvalidInputError(f"Neuron optlevel must be 1, 2 or 3 (got {spec.neuron_optlevel})")
    _choice("HPU mode", spec.hpu_mode, HPU_MODES)
    validate_training(spec)


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
