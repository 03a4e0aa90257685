"""``Result``: one run as plain data with a schema version. Figures not measured are ``null``."""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engines.errors import InvalidInputError
from engines.failures import classify
from profilers.coerce import describe
from profilers.files import dumps, read_text, write_text
from profilers.sections import SECTIONS, read_workers

if TYPE_CHECKING:
    from engines.spec import RunSpec
    from profilers.options import MeasureOptions

SCHEMA_VERSION = "1.0"

Section = dict[str, Any] | None


@dataclass
class Result:
    """Sections follow optimum-benchmark's names where the meaning is the same (``latency`` with
    ``unit``/``count``/``mean``/``p50``…, ``memory`` with ``max_ram``/``max_allocated``/
    ``max_reserved``). The README documents every field."""

    run_id: str
    created_at: str
    status: str
    spec: dict[str, Any]
    options: dict[str, Any]
    environment: dict[str, Any]
    message: str | None = None
    model: Section = None
    workload: Section = None
    timing: Section = None
    latency: Section = None
    throughput: Section = None
    memory: Section = None
    utilization: Section = None
    energy: Section = None
    cost: Section = None
    efficiency: Section = None
    quality: Section = None
    training: Section = None  # training runs only (profilers.training.section)
    contention: Section = None
    workers: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    schema_version: str = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if (
            data["training"] is None
        ):  # only training runs have it; inference Results stay as they were
            del data["training"]
        return {"schema_version": data.pop("schema_version"), **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        version = data.get("schema_version")
        if version is None or str(version).split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise InvalidInputError(
                f"result schema version {version!r} is not readable by this plmprof "
                f"(reads {SCHEMA_VERSION})"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        result = cls(**{k: v for k, v in data.items() if k in names})
        result.repair()
        return result

    def repair(self) -> list[str]:
        """Read every section through its typed class (``profilers.sections``): in a damaged or
        hand-edited file, a figure that cannot be read becomes null, a section that is not a
        table is dropped, and a note in ``notes`` says so. Returns those notes."""
        notes: list[str] = []
        for name, kind in SECTIONS.items():
            before = len(notes)
            section = kind.from_dict(getattr(self, name), notes)
            if len(notes) > before:
                setattr(self, name, section.to_dict() if section is not None else None)
        before = len(notes)
        workers = read_workers(self.workers, notes)
        if len(notes) > before:
            self.workers = [w.to_dict() for w in workers]
        if not isinstance(self.notes, list) or not all(isinstance(n, str) for n in self.notes):
            notes.append(f"notes: {describe(self.notes)} is not a list of text; read as none")
            self.notes = []
        if self.message is not None and not isinstance(self.message, str):
            notes.append(f"message: {describe(self.message)} is not text; read as missing")
            self.message = None
        self.notes.extend(f"on loading: {note}" for note in notes)
        return notes

    def to_json(self) -> str:
        """Strict JSON (a non-finite figure is ``null``)."""
        return dumps(self.to_dict(), indent=2) + "\n"

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write as JSON by plmprof's file policy (``profilers.files``): atomically, never through
        a symbolic link, never over an existing file unless ``overwrite``. Raises ``WriteError``
        (disk full, read-only) with no temporary file left behind."""
        return write_text(Path(path), self.to_json(), overwrite=overwrite)


def new_run_id() -> str:
    """A run's id: twelve hex digits, random (also the Result's file name)."""
    return uuid.uuid4().hex[:12]


def figureless_result(
    spec: RunSpec,
    options: MeasureOptions,
    status: str,
    message: str | None,
    *,
    environment: dict[str, Any] | None = None,
    created_at: str | None = None,
) -> Result:
    """A Result with no figures: the run ended before a session could make one; only its status,
    its reason and what is known of where it ran."""
    return Result(
        run_id=new_run_id(),
        created_at=created_at or datetime.now(UTC).isoformat(timespec="seconds"),
        status=status,
        spec=spec.to_dict(),
        options=options.to_dict(),
        environment=environment or {},
        message=message,
    )


def failed_result(spec: RunSpec, options: MeasureOptions, exc: Exception) -> Result:
    """A Result for a run that ended before the session could make one (it raised ``exc``): the
    status and message are ``engines.failures.classify``'s."""
    status, message = classify(exc, in_profiler=True)
    return figureless_result(spec, options, status.value, message)


def load_result(path: str | Path) -> Result:
    source = Path(path)
    try:
        data = json.loads(read_text(source))
    except FileNotFoundError:
        raise InvalidInputError(f"result file '{source}' does not exist") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read '{source}': {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"'{source}' is not a plmprof result (not JSON: {exc})") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"'{source}' is not a plmprof result (not a JSON object)")
    return Result.from_dict(data)
