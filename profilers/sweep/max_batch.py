"""The largest batch size that fits in memory: doubling from 1, then a binary search between the
last batch that ran ok and the first that ran out of memory, each probe a short run through an
executor; an ``oom`` Result means "too big". Probe Results are saved under ``probes/`` and reused
when the search runs again; ``max-batch.json`` holds every search."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.errors import InvalidInputError
from engines.messages import Status
from engines.spec import RunSpec
from profilers.files import dumps
from profilers.layout import MAX_BATCH_FILE, MAX_BATCH_KIND, PROBES_FOLDER
from profilers.options import MeasureOptions
from profilers.snapshot import Snapshot
from profilers.sweep.execution import Executor, LocalExecutor
from profilers.sweep.grid import SweepGrid
from profilers.sweep.points import SKIPPED, SweepPoint, point_key, point_slug
from profilers.sweep.run import EventCallback, SweepEvent
from profilers.sweep.store import (
    SWEEP_SCHEMA_VERSION,
    now,
    reuse_existing,
    skipped_entries,
    write_text_atomic,
)

DEFAULT_LIMIT = 1024


def check_search(grid: SweepGrid, limit: int) -> None:
    """A max-batch search sets the batch size itself, so the grid must not, and the limit must
    be at least 1; otherwise a clear error."""
    if "batch_size" in dict(grid.axes) or "batch_size" in grid.fixed:
        raise InvalidInputError("--max-batch searches the batch size itself: drop --batch-sizes")
    if dict(grid.axes).get("token_budget") or grid.fixed.get("token_budget"):
        raise InvalidInputError("--max-batch searches a fixed batch size: drop --token-budget")
    check_limit(limit)


def check_limit(limit: int) -> None:
    if limit < 1:
        raise InvalidInputError(f"the max-batch limit must be at least 1 (got {limit})")


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


def search_label(point: SweepPoint) -> str:
    """The point's slug without its (placeholder) batch size."""
    return point_slug(point.spec).rsplit("-b", 1)[0] if point.spec else point.label


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


def _ignore_snapshot(point: SweepPoint, snapshot: Snapshot) -> None:
    return None


def find_max_batch(
    point: SweepPoint,
    options: MeasureOptions,
    folder: Path,
    *,
    executor: Executor | None = None,
    limit: int = DEFAULT_LIMIT,
    iterations: int = 2,
    on_event: EventCallback | None = None,
) -> MaxBatchSearch:
    """Double the batch size from 1 until a probe runs out of memory (or ``limit`` runs ok), then
    binary-search between the last ok and the first oom. Any other failure (crash, error) ends the
    search with its reason. Probe Results are saved under ``folder/probes`` and reused when the
    search runs again."""
    assert point.spec is not None
    check_limit(limit)
    executor = executor or LocalExecutor()
    spec_of_point = point.spec
    search = MaxBatchSearch(point, limit)
    began = time.monotonic()

    def event(kind: str, entry: SweepPoint) -> None:
        if on_event is not None:
            on_event(SweepEvent(kind, entry, len(search.probes), 0, time.monotonic() - began))

    def probe(batch: int) -> str | None:
        spec = probe_spec(spec_of_point, batch, iterations)
        key = point_key(spec)
        entry = SweepPoint(index=batch, settings={"batch_size": batch}, spec=spec, key=key)
        entry.file = f"{PROBES_FOLDER}/{key}.json"
        event("probe_started", entry)
        if (Path(folder) / entry.file).exists() and reuse_existing(Path(folder), entry):
            status, message = entry.status, entry.reason
            rate = entry.figures.get("sequences_per_s")
        else:
            ran = next(iter(executor.execute([entry], options, lambda p: None, _ignore_snapshot)))
            if ran.result is None:
                if ran.status == Status.INTERRUPTED:
                    search.interrupted = True
                    search.stopped = "stopped by the user"
                else:
                    detail = ran.reason if ran.status == SKIPPED else f"{ran.status}: {ran.reason}"
                    search.stopped = f"batch {batch}: {detail}"
                return None
            ran.result.save(Path(folder) / entry.file)
            status, message = ran.result.status, ran.result.message
            rate = (ran.result.throughput or {}).get("sequences_per_s")
        search.probes.append(BatchProbe(batch, status, entry.file, message, rate, entry.resumed))
        entry.status = status
        event("probe_finished", entry)
        if status == Status.INTERRUPTED:
            search.interrupted = True
            search.stopped = "stopped by the user"
            return None
        if status not in (Status.OK, Status.OOM):
            search.stopped = f"batch {batch} ended '{status}': {message or 'no message'}"
            return None
        return status

    batch = 1
    while True:
        status = probe(batch)
        if status is None:
            return search
        if status == Status.OOM:
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
        if status == Status.OK:
            low = middle
        else:
            high = middle
    search.largest_ok, search.smallest_too_big = low, high
    return search


def save_max_batch(
    folder: Path, searches: Sequence[MaxBatchSearch], skipped: Sequence[SweepPoint]
) -> Path:
    """Write ``max-batch.json``: every search so far and the points that could not run."""
    payload = {
        "schema_version": SWEEP_SCHEMA_VERSION,
        "kind": MAX_BATCH_KIND,
        "updated_at": now(),
        "searches": [s.to_dict() for s in searches],
        "skipped": skipped_entries(skipped),
    }
    return write_text_atomic(Path(folder) / MAX_BATCH_FILE, dumps(payload, indent=2) + "\n")


@dataclass(frozen=True)
class MaxBatchOutcome:
    searches: list[MaxBatchSearch]
    interrupted: bool


def search_points(
    points: Sequence[SweepPoint],
    options: MeasureOptions,
    folder: Path,
    *,
    executor: Executor | None = None,
    limit: int = DEFAULT_LIMIT,
    on_search: Callable[[SweepPoint], None] | None = None,
    on_event: EventCallback | None = None,
) -> MaxBatchOutcome:
    """Search every runnable point of ``points`` in turn (``on_search`` is told as each begins),
    writing ``max-batch.json`` after each search and before returning. Ctrl-C ends the searches;
    what was probed is kept."""
    check_limit(limit)
    runnable = [p for p in points if p.status != SKIPPED]
    skipped = [p for p in points if p.status == SKIPPED]
    searches: list[MaxBatchSearch] = []
    try:
        for point in runnable:
            if on_search is not None:
                on_search(point)
            search = find_max_batch(
                point, options, folder, executor=executor, limit=limit, on_event=on_event
            )
            searches.append(search)
            save_max_batch(folder, searches, skipped)
            if search.interrupted:
                break
    except KeyboardInterrupt:
        interrupted = True
    else:
        interrupted = any(s.interrupted for s in searches)
    save_max_batch(folder, searches, skipped)
    return MaxBatchOutcome(searches, interrupted)
