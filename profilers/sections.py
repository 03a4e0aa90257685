"""Typed views of a Result's sections: latency, throughput, memory, energy, cost, efficiency,
quality and workers.

A Result is saved as plain JSON (``profilers.result``); these classes are how everything that
reads one (reports, exports, comparisons, summaries) gets its figures: ``from_dict`` reads a
section as saved, coercing each figure to its type. A file written by an older plmprof (a key
missing) or damaged (a figure that is text, a section that is a list) never raises: what cannot
be read becomes ``None`` and a note says what was dropped. Keys a class does not name are kept
in ``extra`` so that ``to_dict`` gives back everything it was given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self

from profilers.coerce import describe, flag, integer, number, text

if TYPE_CHECKING:
    from profilers.result import Result

Reader = Callable[[Any], Any]
_WHAT = {number: "a number", integer: "a whole number", text: "text", flag: "true or false"}


def _field(read: Reader) -> Any:
    return field(default=None, metadata={"read": read})


@dataclass(frozen=True, kw_only=True)
class Section:
    """One section; subclasses name their figures with ``_field(reader)``."""

    NAME: ClassVar[str] = "section"
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Any, notes: list[str] | None = None, where: str = "") -> Self | None:
        """``data`` as this section; None when it is None or not a table (with a note)."""
        name = where or cls.NAME
        if data is None:
            return None
        if not isinstance(data, Mapping):
            _note(notes, f"{name}: {describe(data)} is not a table; read as missing")
            return None
        readers = {f.name: f.metadata["read"] for f in dataclasses.fields(cls) if f.metadata}
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            read = readers.get(key)
            if read is None:
                extra[key] = value
                continue
            values[key] = read(value)
            if value is not None and values[key] is None:
                what = _WHAT.get(read, "readable")
                _note(notes, f"{name}.{key}: {describe(value)} is not {what}; read as missing")
        return cls(**values, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.extra)
        for spec_field in dataclasses.fields(self):
            if spec_field.metadata:
                data[spec_field.name] = getattr(self, spec_field.name)
        return data


def _note(notes: list[str] | None, text: str) -> None:
    if notes is not None:
        notes.append(text)


@dataclass(frozen=True, kw_only=True)
class Latency(Section):
    """Seconds per batch (``unit`` "s"); ``per_sequence`` stays in ``extra``."""

    NAME: ClassVar[str] = "latency"
    unit: str | None = _field(text)
    count: int | None = _field(integer)
    mean: float | None = _field(number)
    stdev: float | None = _field(number)
    min: float | None = _field(number)
    max: float | None = _field(number)
    p50: float | None = _field(number)
    p90: float | None = _field(number)
    p95: float | None = _field(number)
    p99: float | None = _field(number)


@dataclass(frozen=True, kw_only=True)
class Throughput(Section):
    NAME: ClassVar[str] = "throughput"
    window_s: float | None = _field(number)
    sequences: int | None = _field(integer)
    batches: int | None = _field(integer)
    sequences_per_s: float | None = _field(number)
    tokens_per_s: float | None = _field(number)
    residues_per_s: float | None = _field(number)


@dataclass(frozen=True, kw_only=True)
class Memory(Section):
    """Megabytes: ``max_ram`` the largest worker peak RSS, ``max_allocated``/``max_reserved``
    the torch allocator's peaks (CUDA)."""

    NAME: ClassVar[str] = "memory"
    unit: str | None = _field(text)
    max_ram: float | None = _field(number)
    max_ram_total: float | None = _field(number)
    max_allocated: float | None = _field(number)
    max_reserved: float | None = _field(number)


@dataclass(frozen=True, kw_only=True)
class Energy(Section):
    NAME: ClassVar[str] = "energy"
    joules: float | None = _field(number)
    joules_per_sequence: float | None = _field(number)
    average_watts: float | None = _field(number)
    method: str | None = _field(text)
    reason: str | None = _field(text)


@dataclass(frozen=True, kw_only=True)
class Cost(Section):
    NAME: ClassVar[str] = "cost"
    usd_per_hour: float | None = _field(number)
    price_kind: str | None = _field(text)
    price_date: str | None = _field(text)
    instance_type: str | None = _field(text)
    source: str | None = _field(text)
    per_million_sequences: float | None = _field(number)
    per_million_residues: float | None = _field(number)
    verified: bool | None = _field(flag)


@dataclass(frozen=True, kw_only=True)
class Efficiency(Section):
    """FLOPs and MFU (fractions: 0.4 is 40 %); ``peak`` stays in ``extra``."""

    NAME: ClassVar[str] = "efficiency"
    useful_flops: float | None = _field(number)
    padded_flops: float | None = _field(number)
    useful_tflops: float | None = _field(number)
    padded_tflops: float | None = _field(number)
    peak_tflops: float | None = _field(number)
    useful_mfu: float | None = _field(number)
    hardware_mfu: float | None = _field(number)
    note: str | None = _field(text)


@dataclass(frozen=True, kw_only=True)
class Quality(Section):
    NAME: ClassVar[str] = "quality"
    cosine_min: float | None = _field(number)
    cosine_mean: float | None = _field(number)
    max_abs_error: float | None = _field(number)
    mean_abs_error: float | None = _field(number)
    sequences: int | None = _field(integer)
    warning: str | None = _field(text)


@dataclass(frozen=True, kw_only=True)
class Worker(Section):
    NAME: ClassVar[str] = "workers"
    index: int | None = _field(integer)
    device: str | None = _field(text)
    device_name: str | None = _field(text)
    status: str | None = _field(text)
    message: str | None = _field(text)
    iterations: int | None = _field(integer)
    max_ram: float | None = _field(number)
    max_allocated: float | None = _field(number)


def read_workers(data: Any, notes: list[str] | None = None) -> list[Worker]:
    """The ``workers`` list; an entry that is not a table is dropped with a note."""
    if data is None:
        return []
    if not isinstance(data, list):
        _note(notes, f"workers: {describe(data)} is not a list; read as none")
        return []
    workers = []
    for i, entry in enumerate(data):
        worker = Worker.from_dict(entry, notes, f"workers[{i}]")
        if worker is not None:
            workers.append(worker)
        elif entry is None:
            _note(notes, f"workers[{i}]: empty; dropped")
    return workers


@dataclass(frozen=True, kw_only=True)
class Contention(Section):
    """Other work on the machine during the measured window (``profilers.contention``)."""

    NAME: ClassVar[str] = "contention"
    contended: bool | None = _field(flag)
    why: str | None = _field(text)
    cpu_others_cores: float | None = _field(number)
    cpu_others_share: float | None = _field(number)
    host_cores: int | None = _field(integer)


SECTIONS: dict[str, type[Section]] = {
    cls.NAME: cls
    for cls in (Latency, Throughput, Memory, Energy, Cost, Efficiency, Quality, Contention)
}


@dataclass(frozen=True)
class Sections:
    """Every typed section of one Result, and the notes on what could not be read."""

    latency: Latency | None = None
    throughput: Throughput | None = None
    memory: Memory | None = None
    energy: Energy | None = None
    cost: Cost | None = None
    efficiency: Efficiency | None = None
    quality: Quality | None = None
    contention: Contention | None = None
    workers: tuple[Worker, ...] = ()
    notes: tuple[str, ...] = ()

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> Sections:
        """The sections of a Result's dict (or of a Result's attributes, see ``of``)."""
        notes: list[str] = []
        typed = {name: kind.from_dict(data.get(name), notes) for name, kind in SECTIONS.items()}
        workers = tuple(read_workers(data.get("workers"), notes))
        return cls(**typed, workers=workers, notes=tuple(notes))  # type: ignore[arg-type]

    @classmethod
    def of(cls, result: Result) -> Sections:
        return cls.read({name: getattr(result, name) for name in (*SECTIONS, "workers")})

    @property
    def device_name(self) -> str | None:
        """The first worker's device name (the model of CPU or GPU it ran on)."""
        return next((w.device_name for w in self.workers if w.device_name), None)
