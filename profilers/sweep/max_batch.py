"""The largest batch size that fits in memory: doubling from 1, then a binary search between the
last batch that ran ok and the first that ran out of memory, each probe a short run through an
executor; an ``oom`` Result means "too big". The search then runs the largest-ok and the
smallest-oom batch once more: a memory cap's boundary can move from run to run (on CPU the
address-space cap counts what the allocator reserves), so the answer is the largest batch that ran
ok every time it ran, and a batch that ran both ways is named in the search's ``note``. Probe
Results are saved under ``probes/`` and reused when the search runs again; ``max-batch.json``
holds every search."""

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
    """One probe; ``run`` counts the probes of this batch size (2: its confirming repeat)."""

    batch_size: int
    status: str
    file: str | None
    message: str | None = None
    sequences_per_s: float | None = None
    resumed: bool = False
    run: int = 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class MaxBatchSearch:
    """``largest_ok``: the largest batch that ran ok every time it ran; ``smallest_too_big``: the
    smallest that ran out of memory at least once (None when none did up to ``limit``);
    ``stopped``: why the search ended early; ``note``: the batches that ran both ok and oom
    (None when every repeat agreed)."""

    point: SweepPoint
    limit: int
    probes: list[BatchProbe] = field(default_factory=list)
    largest_ok: int | None = None
    smallest_too_big: int | None = None
    stopped: str | None = None
    interrupted: bool = False
    note: str | None = None

    @property
    def repeatable(self) -> bool | None:
        """Whether every batch that ran more than once ended the same way each time (None when
        none ran twice: the search stopped before confirming)."""
        if not any(p.run > 1 for p in self.probes):
            return None
        return not unsteady_batches(self.probes)

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
            "repeatable": self.repeatable,
            "note": self.note,
            "stopped": self.stopped,
            "interrupted": self.interrupted,
            "probes": [p.to_dict() for p in self.probes],
        }


def _endings(probes: Sequence[BatchProbe]) -> dict[int, list[str]]:
    """Each probed batch size and how each of its probes ended (ok/oom), in probe order."""
    endings: dict[int, list[str]] = {}
    for probe in probes:
        endings.setdefault(probe.batch_size, []).append(probe.status)
    return endings


def unsteady_batches(probes: Sequence[BatchProbe]) -> list[int]:
    """The batch sizes that ran ok at least once and out of memory at least once."""
    return sorted(b for b, ends in _endings(probes).items() if {Status.OK, Status.OOM} <= set(ends))


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def unsteady_note(probes: Sequence[BatchProbe]) -> str | None:
    """E.g. "not repeatable: 16 ran ok once and oom once"; None when every batch ended one way."""
    endings = _endings(probes)
    parts = [
        f"{b} ran ok {_times(endings[b].count(Status.OK))} "
        f"and oom {_times(endings[b].count(Status.OOM))}"
        for b in unsteady_batches(probes)
    ]
    return "not repeatable: " + "; ".join(parts) if parts else None


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
    binary-search between the last ok and the first oom, then confirm both (``confirm``). Any
    other failure (crash, error) ends the search with its reason. Probe Results are saved under
    ``folder/probes`` and reused when the search runs again."""
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
        run = sum(p.batch_size == batch for p in search.probes) + 1
        spec = probe_spec(spec_of_point, batch, iterations)
        key = point_key(spec)
        settings = {"batch_size": batch, **({"run": run} if run > 1 else {})}
        entry = SweepPoint(index=batch, settings=settings, spec=spec, key=key)
        entry.file = f"{PROBES_FOLDER}/{key}{f'.run{run}' if run > 1 else ''}.json"
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
        search.probes.append(
            BatchProbe(batch, status, entry.file, message, rate, entry.resumed, run)
        )
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

    completed = _search(probe, limit) and confirm(search, probe)
    _settle(search)
    if completed and search.smallest_too_big is None and search.largest_ok == limit:
        search.stopped = f"batch {limit} (the limit) ran ok; raise the limit to search further"
    elif completed and search.largest_ok is None and search.note is None:
        search.stopped = "even batch 1 ran out of memory"
    return search


Probe = Callable[[int], "str | None"]


def _search(probe: Probe, limit: int) -> bool:
    """Doubling then bisection; False when a probe ended the search (``search.stopped``)."""
    low, batch = 0, 1
    while True:
        status = probe(batch)
        if status is None:
            return False
        if status == Status.OOM:
            break
        low = batch
        if batch >= limit:
            return True
        batch = min(batch * 2, limit)
    high = batch
    while high - low > 1:
        middle = (low + high) // 2
        status = probe(middle)
        if status is None:
            return False
        if status == Status.OK:
            low = middle
        else:
            high = middle
    return True


def confirm(search: MaxBatchSearch, probe: Probe) -> bool:
    """Run the largest batch that ran ok every time, and the smallest that ran out of memory,
    until each has run twice: a repeat that runs out of memory moves the answer down to the next
    batch that ran ok, which is then run again too. False when a probe ended the search
    (``search.stopped``)."""
    while True:
        _settle(search)
        runs = {b: len(ends) for b, ends in _endings(search.probes).items()}
        once = [b for b in (search.largest_ok, search.smallest_too_big) if b and runs[b] == 1]
        if not once:
            return True
        if probe(once[0]) is None:
            return False


def _settle(search: MaxBatchSearch) -> None:
    """Set the answer from every probe so far: the largest batch ok every time it ran, the
    smallest that ran out of memory at least once, and the note naming unsteady batches."""
    endings = _endings(search.probes)
    steady = [b for b, ends in endings.items() if set(ends) == {Status.OK}]
    too_big = [b for b, ends in endings.items() if Status.OOM in ends]
    search.largest_ok = max(steady, default=None)
    search.smallest_too_big = min(too_big, default=None)
    search.note = unsteady_note(search.probes)


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
