"""The command-line flags shared by ``run`` and ``sweep``, and their conversion to a RunSpec."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from engines.batching import parse_buckets
from engines.errors import InvalidInputError
from engines.fasta import check_fasta_path


@dataclass(frozen=True)
class WorkloadFlags:
    seq_len: int | None
    lengths: str | None
    fasta: str | None

    def to_spec_fields(self) -> dict[str, Any]:
        given = {"seq_len": self.seq_len, "lengths": self.lengths, "fasta": self.fasta}
        chosen = {k: v for k, v in given.items() if v is not None}
        if len(chosen) > 1:
            raise InvalidInputError("give one workload: --seq-len, --lengths or --fasta")
        if not chosen:
            chosen = {"seq_len": 256}
        if self.fasta is not None:
            check_fasta_path(Path(self.fasta))
        return {"seq_len": None, "lengths": None, "fasta": None, **chosen}


def buckets_field(text: str | None) -> tuple[int, ...]:
    return parse_buckets(text) if text else ()


def devices_field(text: str | None) -> tuple[str, ...]:
    return tuple(d.strip() for d in text.split(",") if d.strip()) if text else ()


# Typer option declarations shared by commands (one definition each).
Model = Annotated[str, typer.Option("--model", "-m", help="Model id (see `plmprof models`).")]
Weights = Annotated[
    str,
    typer.Option(help="random (default), cache (local HF cache only) or a local path."),
]
Device = Annotated[
    str, typer.Option("--device", "-d", help="cpu, cuda, cuda:N, neuron, hpu or hpu:N.")
]
Dtype = Annotated[str, typer.Option(help="fp32, fp16 or bf16.")]
SeqLen = Annotated[int | None, typer.Option(help="Synthetic sequences of N residues.")]
Lengths = Annotated[
    str | None,
    typer.Option(help="Length distribution: fixed:N, uniform:A-B, uniref50-like, proteome."),
]
Fasta = Annotated[str | None, typer.Option(help="FASTA file to embed.")]
NeuronTarget = Annotated[str, typer.Option(help="Neuron: inf2, trn1, trn1n or trn2.")]
NeuronOptlevel = Annotated[
    int, typer.Option("--optlevel", help="Neuron: neuronx-cc --optlevel 1, 2 or 3.")
]
NeuronDataParallel = Annotated[
    bool,
    typer.Option(help="Neuron: one torch_neuronx.DataParallel model over the visible cores."),
]
HpuMode = Annotated[
    str, typer.Option(help="Gaudi: lazy (PT_HPU_LAZY_MODE=1) or eager (needed by --compile).")
]
HpuGraphs = Annotated[bool, typer.Option(help="Gaudi: wrap the model in HPU graphs (lazy mode).")]
PricePerHour = Annotated[float | None, typer.Option(help="USD per hour, for cost.")]
InstanceType = Annotated[
    str | None, typer.Option(help="Price this instance type (e.g. inf2.xlarge).")
]
PeakTflops = Annotated[float | None, typer.Option(help="Peak TFLOP/s for MFU.")]
ResultsDir = Annotated[Path, typer.Option(help="Every run's JSON Result is also saved here.")]
