"""Sweeps: a grid of run settings, expanded into RunSpecs and checked before anything runs, then
run through an executor (the local one: one point at a time, each in fresh worker processes) and
saved so that nothing measured is lost.

- ``grid``: settings -> ``SweepGrid`` (names, aliases, kinds, sizes such as ``4GB``);
- ``gridfile``: TOML/YAML grid files and the merge of several sources;
- ``points``: ``SweepPoint`` and ``expand`` (every combination as a checked RunSpec);
- ``execution``: the ``Executor`` interface, ``LocalExecutor`` and the time-left estimate;
- ``store``: the sweep folder's layout and files (sweep.json, sweep.csv, report.md, resume);
- ``run``: ``Sweep``, which runs the points through an executor into the store;
- ``max_batch``: the largest batch that fits in memory.
"""

from profilers.layout import MAX_BATCH_FILE, PROBES_FOLDER, REPORT_FILE, SWEEP_CSV, SWEEP_FILE
from profilers.sweep.execution import (
    DEFAULT_OVERHEAD_S,
    Executor,
    LocalExecutor,
    PointRun,
    Runner,
    SnapshotCallback,
    session_runner,
    time_left_s,
)
from profilers.sweep.grid import SweepGrid, canonical_name
from profilers.sweep.gridfile import grid_from_sources, merge_settings, read_grid_file
from profilers.sweep.max_batch import (
    BatchProbe,
    MaxBatchOutcome,
    MaxBatchSearch,
    check_search,
    find_max_batch,
    probe_spec,
    save_max_batch,
    search_label,
    search_points,
)
from profilers.sweep.points import PENDING, SKIPPED, SweepPoint, expand, point_key, point_slug
from profilers.sweep.run import EventCallback, Sweep, SweepEvent, SweepOutcome
from profilers.sweep.store import load_sweep_grid, prepare_folder, write_text_atomic

__all__ = [
    "DEFAULT_OVERHEAD_S",
    "MAX_BATCH_FILE",
    "PENDING",
    "PROBES_FOLDER",
    "REPORT_FILE",
    "SKIPPED",
    "SWEEP_CSV",
    "SWEEP_FILE",
    "BatchProbe",
    "EventCallback",
    "Executor",
    "LocalExecutor",
    "MaxBatchOutcome",
    "MaxBatchSearch",
    "PointRun",
    "Runner",
    "SnapshotCallback",
    "Sweep",
    "SweepEvent",
    "SweepGrid",
    "SweepOutcome",
    "SweepPoint",
    "canonical_name",
    "check_search",
    "expand",
    "find_max_batch",
    "grid_from_sources",
    "load_sweep_grid",
    "merge_settings",
    "point_key",
    "point_slug",
    "prepare_folder",
    "probe_spec",
    "read_grid_file",
    "save_max_batch",
    "search_label",
    "search_points",
    "session_runner",
    "time_left_s",
    "write_text_atomic",
]
