"""``plmprof sweep``: a grid of runs from flags or a TOML file, a progress bar with time left, and
the sweep folder (one Result per point, sweep.json, sweep.csv, report.md). ``--max-batch`` finds
the largest batch that fits in memory instead."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from engines.errors import InvalidInputError
from engines.messages import Status
from engines.preflight import check_runnable
from profilers.sweep import (
    MAX_BATCH_FILE,
    REPORT_FILE,
    SKIPPED,
    SWEEP_CSV,
    SWEEP_FILE,
    Executor,
    LocalExecutor,
    Runner,
    Sweep,
    SweepGrid,
    SweepPoint,
    check_search,
    expand,
    grid_from_sources,
    prepare_folder,
    search_label,
    search_points,
    session_runner,
)
from profilers.sweep.cluster import ClusterExecutor, ClusterLostError
from profilers.sweep.nodes import NodeInfo
from profilers.sweep.size import check_grid_size
from profilers.sweep.store import FolderLock, remove_temporaries, resume_changes
from tui.options import AXIS_FLAGS
from tui.render.sweep import (
    SweepProgress,
    axis_names,
    max_batch_table,
    plan_table,
    points_table,
    print_skipped,
)

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def split_list(flag: str, text: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise InvalidInputError(f"--{flag.replace('_', '-')}: empty item in '{text}'")
    return items


def flag_settings(flags: Mapping[str, Any]) -> dict[str, Any]:
    """The flags that were given (not None), named as flags; axis flags split at commas."""
    settings: dict[str, Any] = {}
    for name, value in flags.items():
        if value is None:
            continue
        flag = "--" + name.replace("_", "-")
        settings[flag] = split_list(name, value) if name in AXIS_FLAGS else value
    return settings


def default_folder(prefix: str = "plmprof-sweep") -> Path:
    return Path(f"{prefix}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")


@dataclass(frozen=True)
class ExecutorChoice:
    """``--executor`` and the Ray executor's flags."""

    name: str = "local"
    ray_address: str | None = None
    exclusive_nodes: bool = True
    point_timeout_s: float | None = None

    def check(self) -> None:
        if self.name not in ("local", "ray"):
            raise InvalidInputError(f"--executor '{self.name}' is not one of local, ray")
        timeout = self.point_timeout_s
        if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
            raise InvalidInputError(f"--point-timeout must be a positive number (got {timeout})")
        if self.name == "ray":
            return
        given = [
            flag
            for flag, on in (
                ("--ray-address", self.ray_address is not None),
                ("--shared-nodes", not self.exclusive_nodes),
                ("--point-timeout", timeout is not None),
            )
            if on
        ]
        if given:
            raise InvalidInputError(f"{', '.join(given)} needs --executor ray")


def _node_line(node: NodeInfo) -> str:
    offers = ", ".join(
        f"{node.resources[name]:g} {name}"
        for name in ("CPU", "GPU", "neuron_cores", "HPU")
        if node.resources.get(name)
    )
    return f"  - {node.name}: {offers or 'no CPUs or accelerators'}"


@contextmanager
def open_executor(choice: ExecutorChoice, runner: Runner, err: Console) -> Iterator[Executor]:
    """The executor the user chose, connected (Ray is imported only for ``--executor ray``)."""
    if choice.name == "local":
        yield LocalExecutor(runner)
        return
    from profilers.sweep import ray_executor

    where = f"at {choice.ray_address}" if choice.ray_address else "(a new Ray on this machine)"
    err.print(f"connecting to the Ray cluster {where}…", highlight=False)
    with ray_executor.ray_executor(
        choice.ray_address,
        exclusive=choice.exclusive_nodes,
        point_timeout_s=choice.point_timeout_s,
        runner=runner,
    ) as executor:
        nodes = executor.nodes()
        sharing = "one point per node" if choice.exclusive_nodes else "nodes shared by points"
        err.print(f"Ray cluster: {len(nodes)} node(s), {sharing}", highlight=False)
        for node in nodes:
            err.print(_node_line(node), markup=False, highlight=False)
        yield executor


def build_grid(
    flags: Mapping[str, Any], grid_file: Path | None, output: Path | None, resume: bool
) -> SweepGrid:
    """Flags over a grid file over (when resuming) the grid saved in the sweep folder."""
    return grid_from_sources(flag_settings(flags), grid_file, output if resume else None)


def execute_sweep(
    flags: Mapping[str, Any],
    grid_file: Path | None,
    output: Path | None,
    resume: bool,
    dry_run: bool,
    max_batch: bool,
    max_batch_limit: int,
    err: Console,
    out: Console | None = None,
    runner: Runner | None = None,
    *,
    choice: ExecutorChoice | None = None,
    yes: bool = False,
    accept_changes: bool = False,
) -> int:
    out = out or Console()
    runner = runner or session_runner
    choice = choice or ExecutorChoice()
    choice.check()
    if resume and output is None:
        raise InvalidInputError("--resume needs --output: the folder of the sweep to continue")
    grid = build_grid(flags, grid_file, output, resume)
    size = check_grid_size(grid, yes or dry_run)  # before its points are even listed
    if resume and output is not None and not max_batch:
        changes = resume_changes(output, grid)
        if changes and not accept_changes:
            raise InvalidInputError(
                f"--resume with settings other than the sweep saved in '{output}': "
                f"{'; '.join(changes)}. Its saved points were measured with the old settings: "
                "continue with the saved ones (leave those flags out), start a new sweep with "
                "another --output, or add --accept-changes to run this grid here (the Results "
                "it no longer has move to superseded/)"
            )
    if size.points > 1:
        err.print(f"estimate: {size.describe()}", highlight=False)
    folder = output or default_folder("plmprof-max-batch" if max_batch else "plmprof-sweep")
    with open_executor(choice, runner, err) as executor:
        try:
            if max_batch:
                return _execute_max_batch(
                    grid, folder, resume, dry_run, max_batch_limit, err, out, executor
                )
            return _execute_points(
                grid, folder, resume, dry_run, err, out, executor, accept_changes
            )
        except ClusterLostError as exc:
            err.print(
                f"[bold red]{escape(str(exc))}[/]: what finished is saved in {folder}; continue "
                f"with the same command and --resume --output {folder}",
                highlight=False,
            )
            return EXIT_FAILED


def _expand(grid: SweepGrid, executor: Executor) -> list[SweepPoint]:
    """The grid's points, checked. On a cluster the devices are the nodes' (they check them):
    here only the settings are checked, and the points no node can run are skipped."""
    if not isinstance(executor, ClusterExecutor):
        return expand(grid)
    points = expand(grid, partial(check_runnable, devices=False))
    executor.skip_unrunnable(points)
    return points


def _execute_points(
    grid: SweepGrid,
    folder: Path,
    resume: bool,
    dry_run: bool,
    err: Console,
    out: Console,
    executor: Executor,
    accept_changes: bool = False,
) -> int:
    err.print(f"grid: {grid.describe()}; checking every point before anything runs…")
    sweep = Sweep(grid, folder, points=_expand(grid, executor))
    print_skipped(sweep.points, err)
    runnable = sweep.runnable
    if dry_run:
        out.print(plan_table(sweep.points, f"sweep plan: {grid.describe()}"))
        out.print(f"{len(runnable)} point(s) would run into '{folder}'.", highlight=False)
        return EXIT_OK
    if not runnable:
        raise InvalidInputError(f"no point of the grid can run here ({len(sweep.skipped)} skipped)")
    todo = sweep.open(resume, set_aside_changed=accept_changes)
    if sweep.set_aside:
        where = folder / sweep.set_aside[0].parent.name
        err.print(f"moved {len(sweep.set_aside)} Result(s) of the old settings to {where}")
    done = len(runnable) - len(todo)
    already = f" ({done} already done)" if done else ""
    err.print(f"running {len(todo)} point(s) into '{folder}'{already}", highlight=False)
    with SweepProgress(err, axis_names(sweep.points)) as progress:
        outcome = sweep.run(executor, progress, resume=resume)
    out.print(points_table(outcome.points, f"plmprof sweep: {folder}"))
    written = ", ".join(str(folder / n) for n in (SWEEP_FILE, SWEEP_CSV, REPORT_FILE))
    out.print(f"wrote {written}", highlight=False)
    counts = ", ".join(f"{n} {status}" for status, n in outcome.statuses.items())
    out.print(f"points: {counts}", highlight=False)
    if sweep.write_error is not None:
        err.print(
            f"[bold red]error:[/] the sweep stopped: {escape(sweep.write_error)}. What was saved "
            f"is kept; make room, then continue with plmprof sweep --resume --output {folder}",
            highlight=False,
        )
        return EXIT_FAILED
    if outcome.interrupted:
        err.print(
            f"[bold yellow]stopped[/]: what was measured is saved; continue with "
            f"plmprof sweep --resume --output {folder}"
            + (" --executor ray" if isinstance(executor, ClusterExecutor) else ""),
            highlight=False,
        )
        return EXIT_INTERRUPTED
    if outcome.count(Status.OK) == 0:
        err.print("[bold red]no point ended ok[/]: see the reasons above and in sweep.json")
        return EXIT_FAILED
    return EXIT_OK


def _execute_max_batch(
    grid: SweepGrid,
    folder: Path,
    resume: bool,
    dry_run: bool,
    limit: int,
    err: Console,
    out: Console,
    executor: Executor,
) -> int:
    check_search(grid, limit)
    err.print(f"grid: {grid.describe()}; checking every point before anything runs…")
    points = _expand(grid, executor)
    print_skipped(points, err)
    runnable = [p for p in points if p.status != SKIPPED]
    if dry_run:
        out.print(plan_table(points, f"max-batch plan: {grid.describe()}", batch=False))
        return EXIT_OK
    if not runnable:
        raise InvalidInputError(f"no point of the grid can run here ({len(points)} skipped)")
    prepare_folder(folder, resume)
    lock = FolderLock(folder).acquire()  # a second plmprof on this folder is refused
    try:
        if resume:
            remove_temporaries(folder)
        with SweepProgress(err, axis_names(points)) as progress:

            def announce(point: SweepPoint) -> None:
                progress.console.print(
                    f"searching {search_label(point)}", markup=False, highlight=False
                )

            outcome = search_points(
                points,
                grid.measure_options(),
                folder,
                executor=executor,
                limit=limit,
                on_search=announce,
                on_event=progress,
            )
    finally:
        lock.release()
    searches = outcome.searches
    out.print(max_batch_table(searches, f"largest batch that fits ({folder / MAX_BATCH_FILE})"))
    if outcome.interrupted:
        err.print(
            "[bold yellow]stopped[/]: probes so far are saved; run the same command with "
            f"--resume --output {folder} to continue",
            highlight=False,
        )
        return EXIT_INTERRUPTED
    return EXIT_OK if any(s.largest_ok for s in searches) else EXIT_FAILED
