"""Sweeps: a grid of run settings, expanded into RunSpecs and checked before anything runs, then run
one point at a time (each in fresh worker processes) and saved so that nothing measured is lost.

A sweep folder holds one Result JSON per point (``<slug>-<hash>.json``, derived from the point's
RunSpec, so the same point always has the same file), ``sweep.json`` (the grid and every point with
its status, file or reason), ``sweep.csv`` and ``report.md``. The sweep files are rewritten after
every point, so a sweep that is stopped (Ctrl-C, a lost SSH session, a killed process) can be
continued with ``resume=True``: points whose Result file exists are not run again.

``find_max_batch`` searches the largest batch size that fits in memory: doubling, then a binary
search, each probe a short run; an ``oom`` Result means "too big".

No printing here: progress goes to an ``on_event`` callback.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import itertools
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engines.batching import parse_buckets
from engines.errors import InvalidInputError, PlmprofError
from engines.preflight import check_runnable
from engines.spec import RunSpec
from profilers.export import COLUMNS, summary_row
from profilers.options import MeasureOptions
from profilers.report import build_report, load_folder, read_result, render_report
from profilers.result import Result
from profilers.snapshot import Snapshot

SWEEP_SCHEMA_VERSION = "1.0"
SWEEP_FILE = "sweep.json"
SWEEP_CSV = "sweep.csv"
REPORT_FILE = "report.md"
MAX_BATCH_FILE = "max-batch.json"
PROBES_FOLDER = "probes"

PENDING = "pending"
SKIPPED = "skipped"
INTERRUPTED = "interrupted"

SnapshotCallback = Callable[[Snapshot], None]
Runner = Callable[[RunSpec, MeasureOptions, SnapshotCallback | None], Result]
Check = Callable[[RunSpec], object]

# ---------------------------------------------------------------------------------------------
# Grid settings: names, kinds and coercion
# ---------------------------------------------------------------------------------------------

# Names a grid may use for a RunSpec field besides the field's own name: the sweep command's
# flags (plural for the axes) and ``plmprof run``'s flags. ``devices`` is the device axis here, not
# run's one-device-per-worker list (that is not sweepable).
_ALIASES: dict[str, str] = {
    "models": "model",
    "devices": "device",
    "dtypes": "dtype",
    "batch_sizes": "batch_size",
    "attentions": "attention",
    "compiles": "compile",
    "prunes": "prune",
    "seq_lens": "seq_len",
    "token_budgets": "token_budget",
    "duration": "duration_s",
    "num_seqs": "num_sequences",
}
_OPTION_ALIASES: dict[str, str] = {"telemetry_interval": "telemetry_interval_s"}
# Options a sweep may set (the rest are for live displays).
_OPTION_FIELDS: tuple[str, ...] = (
    "telemetry_interval_s",
    "price_per_hour",
    "instance_type",
    "price_kind",
    "peak_tflops",
)
# Fields no grid sets: run notes, and the per-worker device list (its name is the device axis).
_NOT_SETTABLE = ("notes", "devices")
# Axis order of the expansion (whatever order the grid gave): the batch size varies fastest.
_AXIS_ORDER = (
    "model",
    "device",
    "dtype",
    "autocast",
    "int8",
    "prune",
    "attention",
    "packing",
    "compile",
    "seq_len",
    "lengths",
    "fasta",
    "token_budget",
    "batch_size",
)
_WORKLOAD_FIELDS = ("seq_len", "lengths", "fasta")
_AXIS_WORDS = {
    "model": "models",
    "device": "devices",
    "dtype": "dtypes",
    "int8": "int8 schemes",
    "prune": "prunings",
    "attention": "attentions",
    "compile": "compile modes",
    "seq_len": "sequence lengths",
    "lengths": "length distributions",
    "token_budget": "token budgets",
    "batch_size": "batch sizes",
}


def _field_kinds() -> dict[str, str]:
    """RunSpec field name -> "int", "float", "bool", "str" or "tuple" (+ "?" when optional)."""
    kinds = {}
    for spec_field in dataclasses.fields(RunSpec):
        text = str(spec_field.type).replace(" ", "")
        optional = "|None" in text
        base = text.replace("|None", "")
        kind = "tuple" if base.startswith("tuple") else base
        kinds[spec_field.name] = kind + ("?" if optional else "")
    return kinds


_KINDS = _field_kinds()
_SPEC_DEFAULTS = RunSpec().to_dict()


def canonical_name(name: str) -> str:
    """The RunSpec or MeasureOptions field a grid setting names (``batch-sizes`` -> batch_size).

    Raises ``InvalidInputError`` for a name that is neither, listing what is accepted."""
    key = name.strip().lstrip("-").lower().replace("-", "_")
    key = _ALIASES.get(key, _OPTION_ALIASES.get(key, key))
    if key in _KINDS and key not in _NOT_SETTABLE:
        return key
    if key in _OPTION_FIELDS:
        return key
    known = sorted(
        {k.replace("_", "-") for k in _KINDS if k not in _NOT_SETTABLE}
        | {k.replace("_", "-") for k in _ALIASES}
        | {k.replace("_", "-") for k in (*_OPTION_FIELDS, *_OPTION_ALIASES)}
    )
    raise InvalidInputError(f"unknown sweep setting '{name}'; known: {', '.join(known)}")


def _coerce(name: str, kind: str, value: Any) -> Any:
    """``value`` (from TOML, YAML or a flag's text) as the field's type, or a clear error."""
    optional = kind.endswith("?")
    base = kind.rstrip("?")
    if value is None or (optional and isinstance(value, str) and value.strip().lower() == "none"):
        if optional:
            return None
        raise InvalidInputError(f"{name}: a value is needed (got none)")
    if base == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0"):
            return False
        raise InvalidInputError(f"{name}: '{value}' is not true or false")
    if base == "int":
        if isinstance(value, bool | float):
            raise InvalidInputError(f"{name}: '{value}' is not a whole number")
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise InvalidInputError(f"{name}: '{value}' is not a whole number") from None
    if base == "float":
        if isinstance(value, bool):
            raise InvalidInputError(f"{name}: '{value}' is not a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{name}: '{value}' is not a number") from None
        if not math.isfinite(number):
            raise InvalidInputError(f"{name}: '{value}' is not a finite number")
        return number
    if base == "tuple":
        if isinstance(value, str):
            return parse_buckets(value)
        if isinstance(value, list | tuple):
            return tuple(_coerce(name, "int", item) for item in value)
        raise InvalidInputError(f"{name}: '{value}' is not a list of whole numbers")
    if isinstance(value, dict | list | tuple):
        raise InvalidInputError(f"{name}: '{value}' is not a single value")
    text = str(value).strip()
    if not text:
        raise InvalidInputError(f"{name}: empty value")
    return text


def _option_kind(name: str) -> str:
    return {
        "telemetry_interval_s": "float",
        "price_per_hour": "float?",
        "instance_type": "str?",
        "price_kind": "str",
        "peak_tflops": "float?",
    }[name]


@dataclass(frozen=True)
class SweepGrid:
    """What a sweep runs: ``axes`` (RunSpec field -> the values it takes, in expansion order),
    ``fixed`` RunSpec fields shared by every point, and the MeasureOptions fields of every run."""

    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    fixed: Mapping[str, Any]
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> SweepGrid:
        """Build a grid from named settings: flag names (``batch-sizes``, ``duration``) or field
        names. A list makes an axis (for ``buckets`` a list is the value; a list of lists an axis);
        a single value applies to every point."""
        given: dict[str, tuple[str, Any]] = {}
        for name, value in settings.items():
            key = canonical_name(str(name))
            if key in given:
                raise InvalidInputError(
                    f"sweep setting '{name}' and '{given[key][0]}' name the same thing; give one"
                )
            given[key] = (str(name), value)
        options: dict[str, Any] = {}
        axes: dict[str, tuple[Any, ...]] = {}
        fixed: dict[str, Any] = {}
        for key, (name, value) in given.items():
            if key in _OPTION_FIELDS:
                options[key] = _coerce(name, _option_kind(key), value)
                continue
            kind = _KINDS[key]
            is_axis = isinstance(value, list | tuple) and (
                not kind.startswith("tuple") or any(isinstance(v, list | tuple) for v in value)
            )
            if not is_axis:
                fixed[key] = _coerce(name, kind, value)
                continue
            if not value:
                raise InvalidInputError(f"{name}: empty list; give at least one value")
            values = _unique(_coerce(name, kind, item) for item in value)
            if len(values) == 1:
                fixed[key] = values[0]
            else:
                axes[key] = values
        _check_workload(axes, fixed)
        try:
            MeasureOptions(**options)
        except TypeError as exc:  # pragma: no cover - names are checked above
            raise InvalidInputError(f"sweep options: {exc}") from None
        order = {name: i for i, name in enumerate(_AXIS_ORDER)}
        ordered = sorted(axes.items(), key=lambda item: order.get(item[0], -1))
        return cls(tuple(ordered), fixed, options)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepGrid:
        """A grid as ``to_dict`` wrote it (``sweep.json``)."""
        if not isinstance(data, Mapping):
            raise InvalidInputError("sweep.json: 'grid' is not a table of settings")
        axes, fixed, options = (data.get(k) or {} for k in ("axes", "fixed", "options"))
        if not all(isinstance(part, Mapping) for part in (axes, fixed, options)):
            raise InvalidInputError("sweep.json: 'grid' has no axes/fixed/options tables")
        settings: dict[str, Any] = {**fixed, **options}
        for name, values in axes.items():
            settings[name] = [list(v) if isinstance(v, tuple) else v for v in values]
        return cls.from_settings(settings)

    @property
    def size(self) -> int:
        return math.prod(len(values) for _, values in self.axes)

    def combinations(self) -> list[dict[str, Any]]:
        names = [name for name, _ in self.axes]
        return [dict(zip(names, combo, strict=True)) for combo in _product(self.axes)]

    def measure_options(self) -> MeasureOptions:
        return MeasureOptions(**self.options)

    def describe(self) -> str:
        """``2 models × 3 batch sizes = 6 points``-style summary."""
        if not self.axes:
            return "1 point"
        parts = [f"{len(values)} {_AXIS_WORDS.get(name, name)}" for name, values in self.axes]
        return " × ".join(parts) + f" = {self.size} points"

    def to_dict(self) -> dict[str, Any]:
        return {
            "axes": {name: [_jsonable(v) for v in values] for name, values in self.axes},
            "fixed": {name: _jsonable(v) for name, v in self.fixed.items()},
            "options": dict(self.options),
        }


def _product(axes: Sequence[tuple[str, tuple[Any, ...]]]) -> Iterable[tuple[Any, ...]]:
    return itertools.product(*(values for _, values in axes))


def _unique(values: Iterable[Any]) -> tuple[Any, ...]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return tuple(seen)


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _check_workload(axes: Mapping[str, Any], fixed: dict[str, Any]) -> None:
    given = [f for f in _WORKLOAD_FIELDS if f in axes or fixed.get(f) is not None]
    if len(given) > 1:
        names = ", ".join(g.replace("_", "-") for g in given)
        raise InvalidInputError(f"give one workload for a sweep, not {names}")
    if given and given[0] != "seq_len":
        fixed.setdefault("seq_len", None)


# ---------------------------------------------------------------------------------------------
# Points
# ---------------------------------------------------------------------------------------------


def point_key(spec: RunSpec) -> str:
    """A stable file stem for a point: a readable slug and a short hash of its settings.

    Only settings that differ from RunSpec's defaults are hashed, so a field added to RunSpec
    later (with a default) does not rename the files of existing sweeps."""
    data = spec.to_dict()
    data.pop("notes", None)
    changed = {k: v for k, v in data.items() if _SPEC_DEFAULTS.get(k, object()) != v}
    digest = hashlib.sha1(json.dumps(changed, sort_keys=True).encode("utf-8")).hexdigest()[:10]
    return f"{point_slug(spec)}-{digest}"


def point_slug(spec: RunSpec) -> str:
    parts = [spec.model, spec.device, spec.dtype]
    if spec.autocast:
        parts.append("autocast")
    if spec.int8 != "none":
        parts.append(f"int8-{spec.int8}")
    if spec.prune != "none":
        parts.append(f"prune-{spec.prune}")
    parts.append(spec.attention)
    if spec.packing:
        parts.append("packed")
    if spec.compile != "none":
        parts.append(f"compile-{spec.compile}")
    if spec.seq_len is not None:
        parts.append(f"len{spec.seq_len}")
    elif spec.lengths is not None:
        parts.append(spec.lengths)
    elif spec.fasta is not None:
        parts.append(Path(spec.fasta).stem)
    parts.append(f"tb{spec.token_budget}" if spec.token_budget else f"b{spec.batch_size}")
    clean = [re.sub(r"[^A-Za-z0-9._]+", "-", p.replace(":", "")).strip("-") for p in parts]
    return "-".join(c for c in clean if c)[:80]


@dataclass
class SweepPoint:
    """One point of the grid. ``status`` is ``pending``, ``skipped`` (with ``reason``), or the
    status of its Result (``ok``, ``oom``…); ``file`` is relative to the sweep folder."""

    index: int
    settings: dict[str, Any]
    spec: RunSpec | None = None
    key: str | None = None
    status: str = PENDING
    reason: str | None = None
    file: str | None = None
    run_id: str | None = None
    wall_s: float | None = None
    resumed: bool = False
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        if self.key is not None:
            return self.key
        return ", ".join(f"{k}={v}" for k, v in self.settings.items()) or f"point {self.index}"

    @property
    def done(self) -> bool:
        return self.status not in (PENDING, SKIPPED, INTERRUPTED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "key": self.key,
            "settings": {k: _jsonable(v) for k, v in self.settings.items()},
            "status": self.status,
            "reason": self.reason,
            "file": self.file,
            "run_id": self.run_id,
            "wall_s": self.wall_s,
            "resumed": self.resumed,
            "figures": self.figures,
        }


def expand(grid: SweepGrid, check: Check | None = check_runnable) -> list[SweepPoint]:
    """Every point of ``grid`` as a RunSpec, checked. Points that cannot run (invalid settings,
    a preflight error such as cuda without CUDA, an unsupported combination, or the same run as an
    earlier point) are ``skipped`` with the reason; nothing is started."""
    points: list[SweepPoint] = []
    seen: dict[str, int] = {}
    for index, combo in enumerate(grid.combinations(), start=1):
        point = SweepPoint(index=index, settings=combo)
        points.append(point)
        try:
            spec = RunSpec(**{**grid.fixed, **combo})
        except PlmprofError as exc:
            point.status, point.reason = SKIPPED, str(exc)
            continue
        except (TypeError, ValueError) as exc:
            point.status, point.reason = SKIPPED, f"invalid settings: {exc}"
            continue
        point.spec, point.key = spec, point_key(spec)
        point.file = f"{point.key}.json"
        if point.key in seen:
            point.status = SKIPPED
            point.reason = f"the same run as point {seen[point.key]}"
            continue
        seen[point.key] = index
        if check is None:
            continue
        try:
            check(spec)
        except PlmprofError as exc:
            point.status, point.reason = SKIPPED, str(exc)
    return points


# ---------------------------------------------------------------------------------------------
# Time left
# ---------------------------------------------------------------------------------------------

# Seconds a point takes beyond its measured duration before any point has finished: spawning the
# worker, importing torch (about 5 s here), loading the model and warming up.
DEFAULT_OVERHEAD_S = 12.0


def overhead_s(finished: Sequence[tuple[RunSpec, float]]) -> float:
    """Mean seconds the finished points took beyond their measured duration."""
    extra = [max(0.0, wall - spec.duration_s) for spec, wall in finished]
    return sum(extra) / len(extra) if extra else DEFAULT_OVERHEAD_S


def time_left_s(
    pending: Sequence[RunSpec],
    finished: Sequence[tuple[RunSpec, float]],
    current: RunSpec | None = None,
    current_elapsed_s: float = 0.0,
) -> float:
    """Seconds the sweep still needs: each pending point's duration plus the overhead seen so far;
    the running point counts with what it has left."""
    extra = overhead_s(finished)
    left = sum(spec.duration_s + extra for spec in pending)
    if current is not None:
        left += max(0.0, current.duration_s + extra - current_elapsed_s)
    return left


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------


def session_runner(
    spec: RunSpec, options: MeasureOptions, on_snapshot: SnapshotCallback | None
) -> Result:
    """Run one point in fresh worker processes (the default runner)."""
    from profilers.session import Session

    return Session(spec, options, on_snapshot=on_snapshot).run()


@dataclass(frozen=True)
class SweepEvent:
    """What the sweep tells its progress display.

    ``kind``: ``point_started``, ``snapshot``, ``point_finished``, ``probe_started``,
    ``probe_finished``, ``finished``. ``done``/``total`` count the points this invocation runs;
    ``time_left_s`` is None when unknown (max-batch searches)."""

    kind: str
    point: SweepPoint | None
    done: int
    total: int
    elapsed_s: float
    time_left_s: float | None = None
    snapshot: Snapshot | None = None
    result: Result | None = None


EventCallback = Callable[[SweepEvent], None]


@dataclass(frozen=True)
class SweepOutcome:
    points: list[SweepPoint]
    interrupted: bool
    ran: int

    def count(self, status: str) -> int:
        return sum(p.status == status for p in self.points)

    @property
    def statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for point in self.points:
            counts[point.status] = counts.get(point.status, 0) + 1
        return counts


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` so that a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8", newline=""
    ) as handle:
        handle.write(text)
    os.replace(handle.name, path)
    return path


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _figures(result: Result) -> dict[str, Any]:
    row = summary_row(result)
    return {k: row[k] for k in ("sequences_per_s", "p50_ms", "p99_ms", "max_ram_mb")}


def prepare_folder(folder: Path, resume: bool) -> None:
    """Make ``folder`` for a new sweep, or accept it for ``resume``. A folder that already holds
    files is never written into without ``resume`` (nothing a user made is overwritten)."""
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"'{folder}' exists and is not a folder; pick another --output")
    if folder.is_dir() and any(folder.iterdir()) and not resume:
        raise InvalidInputError(
            f"'{folder}' is not empty; add --resume to continue the sweep there, "
            "or pick a new --output"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot make the sweep folder '{folder}': {exc}") from None


def _free_name(path: Path, tag: str, suffix: str) -> Path:
    """``<stem>.<tag><suffix>`` beside ``path``, numbered when that name is taken."""
    for n in itertools.count(1):
        name = tag if n == 1 else f"{tag}-{n}"
        target = path.with_name(f"{path.stem}.{name}{suffix}")
        if not target.exists():
            return target
    raise AssertionError("unreachable")  # pragma: no cover


def reuse_existing(folder: Path, point: SweepPoint) -> bool:
    """On resume: take the point's saved Result when it exists and was not interrupted. An
    interrupted Result is renamed (``<key>.interrupted-<run id>.json``, still a Result the report
    lists) and an unreadable file is renamed ``<key>.unreadable…``; either way the point runs."""
    assert point.file is not None
    path = folder / point.file
    if not path.exists():
        return False
    try:
        result = read_result(path)
    except PlmprofError:
        os.replace(path, _free_name(path, "unreadable", ".json-unreadable"))
        return False
    if result.status == INTERRUPTED:
        os.replace(path, _free_name(path, f"interrupted-{result.run_id}", ".json"))
        return False
    point.status, point.run_id, point.resumed = result.status, result.run_id, True
    point.reason = result.message
    point.figures = _figures(result)
    return True


class Sweep:
    """A grid expanded into checked points, run into ``folder``."""

    def __init__(
        self,
        grid: SweepGrid,
        folder: Path,
        *,
        check: Check | None = check_runnable,
        points: list[SweepPoint] | None = None,
    ) -> None:
        self.grid = grid
        self.folder = Path(folder)
        self.options = grid.measure_options()
        self.points = points if points is not None else expand(grid, check)
        self.created_at = _now()
        self.interrupted = False
        self._todo: list[SweepPoint] | None = None

    @property
    def runnable(self) -> list[SweepPoint]:
        return [p for p in self.points if p.status != SKIPPED]

    @property
    def skipped(self) -> list[SweepPoint]:
        return [p for p in self.points if p.status == SKIPPED]

    def open(self, resume: bool) -> list[SweepPoint]:
        """Prepare the folder; with ``resume``, take saved Results. Returns the points to run
        (``run`` opens the sweep itself when this was not called first)."""
        if self._todo is not None:
            return self._todo
        prepare_folder(self.folder, resume)
        if resume:
            previous = self.folder / SWEEP_FILE
            if previous.exists():
                data = _read_json(previous)
                self.created_at = str(data.get("created_at") or self.created_at)
            for point in self.runnable:
                reuse_existing(self.folder, point)
        self._todo = [p for p in self.runnable if not p.done]
        return self._todo

    def run(
        self,
        runner: Runner = session_runner,
        on_event: EventCallback | None = None,
        *,
        resume: bool = False,
    ) -> SweepOutcome:
        """Run every pending point, one at a time. A failed point (oom, crash…) is that point's
        Result and the sweep goes on; Ctrl-C stops the running point (its measurements are kept
        as an ``interrupted`` Result) and ends the sweep. The sweep files are written after every
        point and before returning, whatever happens."""
        todo = self.open(resume)
        began = time.monotonic()
        finished: list[tuple[RunSpec, float]] = []
        ran = 0

        def emit(kind: str, position: int, current_s: float | None = None, **extra: Any) -> None:
            if on_event is None:
                return
            point = todo[position] if position < len(todo) else None
            after = position + 1 if current_s is not None or kind == "point_finished" else position
            pending = [p.spec for p in todo[after:] if p.spec is not None]
            current = point.spec if point is not None and current_s is not None else None
            left = time_left_s(pending, finished, current, current_s or 0.0)
            elapsed = time.monotonic() - began
            on_event(SweepEvent(kind, point, ran, len(todo), elapsed, left, **extra))

        position = 0
        try:
            self.save()
            for position, point in enumerate(todo):
                started = time.monotonic()
                emit("point_started", position, 0.0)

                def on_snapshot(
                    snapshot: Snapshot, at: int = position, t0: float = started
                ) -> None:
                    emit("snapshot", at, time.monotonic() - t0, snapshot=snapshot)

                result = self._run_point(point, runner, on_snapshot)
                point.wall_s = time.monotonic() - started
                ran += 1
                if result is not None and point.spec is not None:
                    finished.append((point.spec, point.wall_s))
                self.save()
                emit("point_finished", position, result=result)
                if point.status == INTERRUPTED:
                    self.interrupted = True
                    break
        except KeyboardInterrupt:
            self.interrupted = True
        finally:
            self.save()
        emit("finished", len(todo))
        return SweepOutcome(self.points, self.interrupted, ran)

    def _run_point(
        self, point: SweepPoint, runner: Runner, on_snapshot: SnapshotCallback
    ) -> Result | None:
        assert point.spec is not None and point.file is not None
        try:
            result = runner(point.spec, self.options, on_snapshot)
        except KeyboardInterrupt:
            point.status = INTERRUPTED
            point.reason = "stopped by the user before a result was made; --resume runs it again"
            return None
        except PlmprofError as exc:  # the preflight check failed now (a file gone, a device busy)
            point.status, point.reason = SKIPPED, str(exc)
            return None
        except Exception as exc:  # a bug must not cost the rest of the sweep
            point.status = "error"
            point.reason = f"the sweep could not run this point: {type(exc).__name__}: {exc}"
            return None
        result.save(self.folder / point.file)
        point.status, point.run_id, point.reason = result.status, result.run_id, result.message
        if result.status == INTERRUPTED and not point.reason:
            point.reason = "stopped by the user (what was measured is kept); --resume runs it again"
        point.figures = _figures(result)
        return result

    # -- files ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for point in self.points:
            counts[point.status] = counts.get(point.status, 0) + 1
        return {
            "schema_version": SWEEP_SCHEMA_VERSION,
            "kind": "plmprof-sweep",
            "created_at": self.created_at,
            "updated_at": _now(),
            "interrupted": self.interrupted,
            "grid": self.grid.to_dict(),
            "size": len(self.points),
            "counts": counts,
            "points": [p.to_dict() for p in self.points],
            "skipped": [
                {"index": p.index, "settings": p.to_dict()["settings"], "reason": p.reason}
                for p in self.skipped
            ],
        }

    def save(self) -> None:
        """Write ``sweep.json``, ``sweep.csv`` and ``report.md`` (atomically, each)."""
        write_text_atomic(self.folder / SWEEP_FILE, json.dumps(self.to_dict(), indent=2) + "\n")
        results = self._saved_results()
        write_text_atomic(self.folder / SWEEP_CSV, self.to_csv(results))
        loaded = load_folder(self.folder, required=False)
        if loaded.results:
            report = build_report(loaded)
            write_text_atomic(self.folder / REPORT_FILE, render_report(report, "md"))

    def _saved_results(self) -> dict[str, Result]:
        results = {}
        for point in self.points:
            if point.file and point.run_id and (self.folder / point.file).exists():
                try:
                    results[point.file] = read_result(self.folder / point.file)
                except PlmprofError:
                    continue
        return results

    def to_csv(self, results: Mapping[str, Result]) -> str:
        """One row per grid point, skipped ones included, with the summary figures."""
        buffer = io.StringIO()
        names = [name for name, _, _ in COLUMNS if name not in ("status", "message")]
        writer = csv.DictWriter(
            buffer, fieldnames=["point", "key", "status", "reason", "file", *names]
        )
        writer.writeheader()
        for point in self.points:
            result = results.get(point.file or "")
            row = summary_row(result) if result is not None else {}
            writer.writerow(
                {
                    "point": point.index,
                    "key": point.key,
                    "status": point.status,
                    "reason": point.reason,
                    "file": point.file if result is not None else None,
                    **{n: row.get(n) for n in names},
                }
            )
        return buffer.getvalue()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"cannot read '{path}': {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"'{path}' is not a plmprof sweep file")
    return data


def load_sweep_grid(folder: Path) -> SweepGrid:
    """The grid saved in ``folder/sweep.json`` (to resume without repeating the flags)."""
    path = Path(folder) / SWEEP_FILE
    if not path.exists():
        raise InvalidInputError(
            f"no {SWEEP_FILE} in '{folder}' to resume from; give the grid (flags or --grid) again"
        )
    data = _read_json(path)
    if data.get("kind") != "plmprof-sweep" or "grid" not in data:
        raise InvalidInputError(f"'{path}' is not a plmprof sweep file")
    return SweepGrid.from_dict(data["grid"])


# ---------------------------------------------------------------------------------------------
# Largest batch that fits
# ---------------------------------------------------------------------------------------------

OOM = "oom"
OK = "ok"


def probe_spec(spec: RunSpec, batch_size: int, iterations: int = 2) -> RunSpec:
    """A short run of ``spec`` at ``batch_size``: one warm-up call, at most ``iterations``
    measured batches. The memory cap is the spec's (``memory_limit_mb``), else the device's."""
    return spec.replace(
        batch_size=batch_size,
        token_budget=None,
        warmup=1,
        min_iters=1,
        max_iters=iterations,
        duration_s=0.01,
        quality=False,
    )


@dataclass
class BatchProbe:
    batch_size: int
    status: str
    file: str | None
    message: str | None = None
    sequences_per_s: float | None = None
    resumed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class MaxBatchSearch:
    """``largest_ok``: the largest batch that ran ok; ``smallest_too_big``: the smallest that ran
    out of memory (None when none did up to ``limit``); ``stopped``: why the search ended early."""

    point: SweepPoint
    limit: int
    probes: list[BatchProbe] = field(default_factory=list)
    largest_ok: int | None = None
    smallest_too_big: int | None = None
    stopped: str | None = None
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        spec = self.point.spec
        return {
            "point": self.point.index,
            "settings": self.point.to_dict()["settings"],
            "model": spec.model if spec else None,
            "device": spec.device if spec else None,
            "memory_limit_mb": spec.memory_limit_mb if spec else None,
            "limit": self.limit,
            "largest_ok": self.largest_ok,
            "smallest_too_big": self.smallest_too_big,
            "stopped": self.stopped,
            "interrupted": self.interrupted,
            "probes": [p.to_dict() for p in self.probes],
        }


def find_max_batch(
    point: SweepPoint,
    options: MeasureOptions,
    folder: Path,
    *,
    runner: Runner = session_runner,
    limit: int = 1024,
    iterations: int = 2,
    on_event: EventCallback | None = None,
) -> MaxBatchSearch:
    """Double the batch size from 1 until a probe runs out of memory (or ``limit`` runs ok), then
    binary-search between the last ok and the first oom. Any other failure (crash, error) ends the
    search with its reason. Probe Results are saved under ``folder/probes`` and reused when the
    search runs again."""
    assert point.spec is not None
    if limit < 1:
        raise InvalidInputError(f"the max-batch limit must be at least 1 (got {limit})")
    search = MaxBatchSearch(point, limit)
    probes_dir = Path(folder) / PROBES_FOLDER
    began = time.monotonic()

    def probe(batch: int) -> str | None:
        spec = probe_spec(point.spec, batch, iterations)  # type: ignore[arg-type]
        key = point_key(spec)
        entry = SweepPoint(index=batch, settings={"batch_size": batch}, spec=spec, key=key)
        entry.file = f"{PROBES_FOLDER}/{key}.json"
        if on_event is not None:
            on_event(SweepEvent("probe_started", entry, len(search.probes), 0, _since(began)))
        if (Path(folder) / entry.file).exists() and reuse_existing(Path(folder), entry):
            status, message = entry.status, entry.reason
            rate = entry.figures.get("sequences_per_s")
        else:
            try:
                result = runner(spec, options, None)
            except KeyboardInterrupt:
                search.interrupted = True
                search.stopped = "stopped by the user"
                return None
            except PlmprofError as exc:
                search.stopped = f"batch {batch}: {exc}"
                return None
            result.save(probes_dir / f"{key}.json")
            status, message = result.status, result.message
            rate = (result.throughput or {}).get("sequences_per_s")
        record = BatchProbe(batch, status, entry.file, message, rate, entry.resumed)
        search.probes.append(record)
        if on_event is not None:
            entry.status = status
            on_event(SweepEvent("probe_finished", entry, len(search.probes), 0, _since(began)))
        if status == INTERRUPTED:
            search.interrupted = True
            search.stopped = "stopped by the user"
            return None
        if status not in (OK, OOM):
            search.stopped = f"batch {batch} ended '{status}': {message or 'no message'}"
            return None
        return status

    batch = 1
    while True:
        status = probe(batch)
        if status is None:
            return search
        if status == OOM:
            search.smallest_too_big = batch
            break
        search.largest_ok = batch
        if batch >= limit:
            search.stopped = f"batch {limit} (the limit) ran ok; raise the limit to search further"
            return search
        batch = min(batch * 2, limit)
    if search.largest_ok is None:
        search.stopped = "even batch 1 ran out of memory"
        return search
    low, high = search.largest_ok, batch
    while high - low > 1:
        middle = (low + high) // 2
        status = probe(middle)
        if status is None:
            break
        if status == OK:
            low = middle
        else:
            high = middle
    search.largest_ok, search.smallest_too_big = low, high
    return search


def _since(start: float) -> float:
    return time.monotonic() - start


def save_max_batch(
    folder: Path, searches: Sequence[MaxBatchSearch], skipped: Sequence[SweepPoint]
) -> Path:
    payload = {
        "schema_version": SWEEP_SCHEMA_VERSION,
        "kind": "plmprof-max-batch",
        "updated_at": _now(),
        "searches": [s.to_dict() for s in searches],
        "skipped": [
            {"index": p.index, "settings": p.to_dict()["settings"], "reason": p.reason}
            for p in skipped
        ],
    }
    return write_text_atomic(Path(folder) / MAX_BATCH_FILE, json.dumps(payload, indent=2) + "\n")
