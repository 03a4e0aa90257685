"""Sweep grids, validation, the run loop with fake runners (no worker processes), resume and the
largest-batch search."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from engines.errors import InvalidInputError, PlmprofError, UnsupportedError
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.result import Result, load_result
from profilers.sweep import (
    DEFAULT_OVERHEAD_S,
    MAX_BATCH_FILE,
    PROBES_FOLDER,
    REPORT_FILE,
    SWEEP_CSV,
    SWEEP_FILE,
    LocalExecutor,
    PointRun,
    Sweep,
    SweepEvent,
    SweepGrid,
    SweepPoint,
    canonical_name,
    expand,
    find_max_batch,
    load_sweep_grid,
    merge_settings,
    point_key,
    point_slug,
    probe_spec,
    save_max_batch,
    time_left_s,
)

FAST = {"seq_len": 32, "duration": 0.5, "min_iters": 3, "warmup": 1}


def make_result(spec: RunSpec, status: str = "ok", seq_s: float = 10.0, p50: float = 0.1) -> Result:
    ok = status == "ok"
    return Result(
        run_id=f"r{spec.batch_size}{spec.dtype}{status}",
        created_at="2026-01-01T00:00:00+00:00",
        status=status,
        spec=spec.to_dict(),
        options=MeasureOptions().to_dict(),
        environment={"cpu": "test CPU", "cpu_count": 2},
        message=None if ok else f"{status} at batch {spec.batch_size}",
        latency={"unit": "s", "count": 10, "p50": p50, "p90": p50, "p99": p50 * 1.5}
        if ok
        else None,
        throughput={"sequences_per_s": seq_s} if ok else None,
        memory={"unit": "MB", "max_ram": 100.0 * spec.batch_size, "max_allocated": None},
    )


class FakeRunner:
    """Stands in for Session: records the specs it ran, returns a Result per ``outcome``."""

    def __init__(self, outcome: Callable[[RunSpec], Any] | None = None) -> None:
        self.ran: list[RunSpec] = []
        self.outcome = outcome or (lambda spec: "ok")

    def __call__(self, spec: RunSpec, options: MeasureOptions, on_snapshot: Any) -> Result:
        self.ran.append(spec)
        outcome = self.outcome(spec)
        if isinstance(outcome, BaseException):
            raise outcome
        return make_result(spec, outcome, seq_s=10.0 * spec.batch_size)


def no_check(spec: RunSpec) -> None:
    return None


def grid(**settings: Any) -> SweepGrid:
    return SweepGrid.from_settings({**FAST, **settings})


# -- grid settings ----------------------------------------------------------------------------


def test_flag_names_aliases_and_field_names_all_work() -> None:
    g = SweepGrid.from_settings(
        {"batch-sizes": ["1", "8"], "dtypes": ["fp32", "bf16"], "Duration": "0.5", "min_iters": 3}
    )
    assert dict(g.axes) == {"dtype": ("fp32", "bf16"), "batch_size": (1, 8)}
    assert g.fixed == {"duration_s": 0.5, "min_iters": 3}
    assert canonical_name("models") == "model"
    assert canonical_name("seq-lens") == "seq_len"
    assert canonical_name("telemetry-interval") == "telemetry_interval_s"


def test_axes_expand_in_a_fixed_order_with_the_batch_size_fastest() -> None:
    g = grid(batch_sizes=[1, 2], dtypes=["fp32", "bf16"], models=["esm2_t6_8M"])
    assert [name for name, _ in g.axes] == ["dtype", "batch_size"]  # one model: fixed
    assert g.fixed["model"] == "esm2_t6_8M"
    combos = g.combinations()
    assert combos == [
        {"dtype": "fp32", "batch_size": 1},
        {"dtype": "fp32", "batch_size": 2},
        {"dtype": "bf16", "batch_size": 1},
        {"dtype": "bf16", "batch_size": 2},
    ]
    assert g.size == 4
    assert g.describe() == "2 dtypes × 2 batch sizes = 4 points"


def test_memory_limit_takes_sizes_under_either_name() -> None:
    assert SweepGrid.from_settings({"memory_limit": "4GB"}).fixed["memory_limit_mb"] == 4000
    g = SweepGrid.from_settings({"memory-limit-mb": ["512MB", 1024], **FAST})
    assert dict(g.axes)["memory_limit_mb"] == (512, 1024)
    with pytest.raises(InvalidInputError, match="cannot read memory size 'lots'"):
        SweepGrid.from_settings({"memory_limit": "lots"})


def test_grid_settings_round_trip_and_later_sources_win() -> None:
    g = grid(dtypes=["fp32", "bf16"], buckets=[64, 128])
    assert SweepGrid.from_settings(g.to_settings()) == g
    merged = merge_settings({"batch_size": 4, "dtype": "fp16"}, {"--batch-sizes": [1, 2]})
    assert merged == {"--batch-sizes": [1, 2], "dtype": "fp16"}


def test_repeated_values_are_dropped() -> None:
    g = grid(batch_sizes=[1, "1", 2])
    assert dict(g.axes)["batch_size"] == (1, 2)


def test_buckets_list_is_a_value_and_none_clears_an_optional_field() -> None:
    g = grid(buckets=[128, 64], token_budgets=["none", "4096"])
    assert g.fixed["buckets"] == (128, 64)
    assert dict(g.axes)["token_budget"] == (None, 4096)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"colour": "red"}, "unknown sweep setting 'colour'"),
        ({"batch_sizes": ["1", "x"]}, r"batch_sizes must be a whole number \(got 'x'\)"),
        ({"batch_sizes": [1.5]}, "must be a whole number"),
        ({"duration": "soon"}, r"duration must be a number \(got 'soon'\)"),
        ({"duration": float("nan")}, "duration must be a finite number"),
        ({"lr": "inf"}, "lr must be a finite number"),
        ({"duration": True}, "duration must be a number"),
        ({"autocast": "maybe"}, "autocast: 'maybe' is not true or false"),
        ({"models": []}, "models: empty list"),
        ({"model": "esm2_t6_8M", "models": ["esm2_t6_8M"]}, "name the same thing"),
        ({"seq_lens": [32, 64], "lengths": "uniref50-like"}, "give one workload"),
        ({"telemetry_interval": -1}, "must be > 0"),
        ({"batch_size": None}, "a value is needed"),
    ],
)
def test_bad_settings_are_clear_errors(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        SweepGrid.from_settings(settings)


def test_grid_round_trips_through_its_dict() -> None:
    g = grid(models=["esm2_t6_8M", "esm2_t12_35M"], batch_sizes=[1, 8], price_per_hour=1.5)
    again = SweepGrid.from_dict(json.loads(json.dumps(g.to_dict())))
    assert again == g
    assert again.measure_options().price_per_hour == 1.5


def test_a_distribution_workload_clears_the_default_sequence_length() -> None:
    g = SweepGrid.from_settings({"lengths": "uniform:30-60", "batch_sizes": [1, 2]})
    points = expand(g, no_check)
    assert [p.status for p in points] == ["pending", "pending"]
    assert points[0].spec is not None and points[0].spec.seq_len is None


# -- expansion and validation -----------------------------------------------------------------


def test_impossible_points_are_skipped_with_their_reason() -> None:
    def check(spec: RunSpec) -> None:
        if spec.dtype == "bf16" and spec.batch_size == 2:
            raise UnsupportedError("bf16 at batch 2 is not supported here")

    g = grid(models=["esm2_t6_8M", "no_such_model"], dtypes=["fp32", "bf16"], batch_sizes=[0, 2])
    points = expand(g, check)
    by_settings = {tuple(p.settings.values()): p for p in points}
    assert len(points) == 8
    bad_model = by_settings[("no_such_model", "fp32", 2)]
    assert bad_model.status == "skipped" and "unknown model 'no_such_model'" in str(
        bad_model.reason
    )
    assert bad_model.spec is None and bad_model.label.startswith("model=no_such_model")
    zero = by_settings[("esm2_t6_8M", "fp32", 0)]
    assert zero.status == "skipped" and "batch size must be greater than 0" in str(zero.reason)
    unsupported = by_settings[("esm2_t6_8M", "bf16", 2)]
    assert unsupported.reason == "bf16 at batch 2 is not supported here"
    assert by_settings[("esm2_t6_8M", "fp32", 2)].status == "pending"
    assert sum(p.status == "pending" for p in points) == 1


def test_packing_is_an_axis_and_its_points_are_named_packed() -> None:
    g = SweepGrid.from_settings(
        {"packing": [False, True], "attentions": ["sdpa", "flex"], "token_budget": 2048}
    )
    points = expand(g, no_check)
    by_settings = {tuple(p.settings.values()): p for p in points}
    assert len(points) == 4
    assert by_settings[("flex", False)].status == "skipped"
    assert "add --packing" in str(by_settings[("flex", False)].reason)
    packed = by_settings[("flex", True)]
    assert packed.status == "pending" and packed.spec is not None and packed.spec.packing
    assert "packed" in point_slug(packed.spec)
    assert "packed" not in point_slug(by_settings[("sdpa", False)].spec)  # type: ignore[arg-type]


def test_the_real_preflight_skips_cuda_without_a_gpu() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is visible here")
    points = expand(grid(devices=["cpu", "cuda"], batch_sizes=[1]))
    cpu, cuda = points
    assert cpu.status == "pending"
    assert cuda.status == "skipped" and "CUDA" in str(cuda.reason)


def test_a_point_equal_to_an_earlier_one_is_skipped() -> None:
    g = SweepGrid(axes=(("batch_size", (1, 1)),), fixed={"seq_len": 32})
    first, second = expand(g, no_check)
    assert first.status == "pending"
    assert second.status == "skipped" and second.reason == "the same run as point 1"


def test_point_keys_are_stable_readable_and_distinct() -> None:
    spec = RunSpec(seq_len=32, batch_size=2)
    key = point_key(spec)
    assert key == point_key(RunSpec(seq_len=32, batch_size=2, notes=("a note",)))
    assert key.startswith("esm2_t6_8M-cpu-fp32-sdpa-len32-b2-")
    assert point_key(spec.replace(batch_size=4)) != key
    assert point_key(spec.replace(prune="unstructured:0.5")).count("prune-unstructured0.5") == 1
    # Only non-default settings are hashed: this name must not change between versions.
    assert key == "esm2_t6_8M-cpu-fp32-sdpa-len32-b2-" + key.rsplit("-", 1)[1]
    assert point_key(RunSpec()) == point_key(RunSpec(seq_len=256, batch_size=8))


# -- time left --------------------------------------------------------------------------------


def test_time_left_uses_the_overhead_seen_so_far() -> None:
    a, b = RunSpec(duration_s=10.0), RunSpec(duration_s=5.0)
    assert time_left_s([a, b], []) == pytest.approx(15.0 + 2 * DEFAULT_OVERHEAD_S)
    finished = [(RunSpec(duration_s=10.0), 14.0), (RunSpec(duration_s=10.0), 16.0)]  # +5 s
    assert time_left_s([a, b], finished) == pytest.approx(25.0)
    assert time_left_s([b], finished, current=a, current_elapsed_s=12.0) == pytest.approx(13.0)
    assert time_left_s([], finished, current=a, current_elapsed_s=99.0) == 0.0


# -- the run loop -----------------------------------------------------------------------------


def test_a_sweep_runs_every_runnable_point_and_writes_its_files(tmp_path: Path) -> None:
    events: list[SweepEvent] = []
    g = grid(models=["esm2_t6_8M", "nope"], batch_sizes=[1, 2, 4])
    sweep = Sweep(g, tmp_path / "out", check=no_check)
    runner = FakeRunner()
    outcome = sweep.run(LocalExecutor(runner), events.append)
    assert [s.batch_size for s in runner.ran] == [1, 2, 4]
    assert not outcome.interrupted and outcome.ran == 3
    assert outcome.statuses == {"ok": 3, "skipped": 3}
    folder = tmp_path / "out"
    for point in sweep.runnable:
        saved = load_result(folder / str(point.file))
        assert saved.status == "ok" and saved.spec == point.spec.to_dict()  # type: ignore[union-attr]
        assert point.figures["sequences_per_s"] == saved.throughput["sequences_per_s"]  # type: ignore[index]
    data = json.loads((folder / SWEEP_FILE).read_text())
    assert data["kind"] == "plmprof-sweep" and data["interrupted"] is False
    assert data["grid"] == g.to_dict()
    assert data["counts"] == {"ok": 3, "skipped": 3}
    assert [p["status"] for p in data["points"]] == ["ok"] * 3 + ["skipped"] * 3
    assert all("unknown model 'nope'" in s["reason"] for s in data["skipped"])
    csv_lines = (folder / SWEEP_CSV).read_text().splitlines()
    assert len(csv_lines) == 7 and csv_lines[0].startswith("point,key,status,reason,file")
    assert "skipped" in csv_lines[-1] and "unknown model" in csv_lines[-1]
    assert (folder / REPORT_FILE).read_text().startswith("# plmprof benchmark report")
    kinds = [e.kind for e in events]
    assert kinds == ["point_started", "point_finished"] * 3 + ["finished"]
    assert [e.done for e in events if e.kind == "point_finished"] == [1, 2, 3]
    assert all(e.total == 3 for e in events)
    assert events[-1].time_left_s == 0.0


class ReversedExecutor:
    """Runs every point, then hands them back last first (as a cluster may finish them)."""

    def __init__(self) -> None:
        self.started: list[int] = []

    def execute(
        self,
        points: Sequence[SweepPoint],
        options: MeasureOptions,
        on_start: Callable[[SweepPoint], None],
        on_snapshot: Callable[[SweepPoint, Any], None],
    ) -> Iterator[PointRun]:
        for point in points:
            self.started.append(point.index)
            on_start(point)
        for point in reversed(points):
            assert point.spec is not None
            yield PointRun.of(point, make_result(point.spec), 1.0)


def test_an_executor_may_finish_points_in_any_order(tmp_path: Path) -> None:
    events: list[SweepEvent] = []
    executor = ReversedExecutor()
    outcome = Sweep(grid(batch_sizes=[1, 2, 4]), tmp_path, check=no_check).run(
        executor, events.append
    )
    assert executor.started == [1, 2, 3]
    finished = [e.point.index for e in events if e.kind == "point_finished" and e.point]
    assert finished == [3, 2, 1] and [e.done for e in events if e.kind == "point_finished"] == [
        1,
        2,
        3,
    ]
    assert outcome.statuses == {"ok": 3} and len(list(tmp_path.glob("esm2*.json"))) == 3
    assert events[-1].kind == "finished" and events[-1].time_left_s == 0.0


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    runner = FakeRunner(lambda spec: "oom" if spec.batch_size == 2 else "ok")
    sweep = Sweep(grid(batch_sizes=[1, 2, 4]), tmp_path / "s", check=no_check)
    outcome = sweep.run(LocalExecutor(runner))
    assert [p.status for p in outcome.points] == ["ok", "oom", "ok"]
    failed = outcome.points[1]
    assert failed.reason == "oom at batch 2"
    assert load_result(tmp_path / "s" / str(failed.file)).status == "oom"
    report = (tmp_path / "s" / REPORT_FILE).read_text()
    assert "oom at batch 2" in report


def test_a_runner_error_or_late_preflight_error_costs_only_its_point(tmp_path: Path) -> None:
    def outcome(spec: RunSpec) -> Any:
        if spec.batch_size == 1:
            return RuntimeError("boom")
        if spec.batch_size == 2:
            return PlmprofError("the FASTA file went away")
        return "ok"

    sweep = Sweep(grid(batch_sizes=[1, 2, 4]), tmp_path / "s", check=no_check)
    points = sweep.run(LocalExecutor(FakeRunner(outcome))).points
    assert points[0].status == "error" and "RuntimeError: boom" in str(points[0].reason)
    assert points[1].status == "skipped" and points[1].reason == "the FASTA file went away"
    assert points[2].status == "ok"


def test_a_folder_with_files_is_not_reused_without_resume(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    sweep = Sweep(grid(batch_sizes=[1, 2]), tmp_path, check=no_check)
    with pytest.raises(InvalidInputError, match="not empty; add --resume"):
        sweep.run(LocalExecutor(FakeRunner()))
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    with pytest.raises(InvalidInputError, match="is not a folder"):
        Sweep(grid(), tmp_path / "mine.txt", check=no_check).run(LocalExecutor(FakeRunner()))


def test_ctrl_c_saves_what_is_done_and_resume_runs_only_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    g = grid(batch_sizes=[1, 2, 4, 8])
    first = FakeRunner(lambda spec: KeyboardInterrupt() if spec.batch_size == 4 else "ok")
    outcome = Sweep(g, folder, check=no_check).run(LocalExecutor(first))
    assert outcome.interrupted
    assert [p.status for p in outcome.points] == ["ok", "ok", "interrupted", "pending"]
    data = json.loads((folder / SWEEP_FILE).read_text())
    assert data["interrupted"] is True
    assert [p["status"] for p in data["points"]] == ["ok", "ok", "interrupted", "pending"]

    second = FakeRunner()
    resumed = Sweep(load_sweep_grid(folder), folder, check=no_check).run(
        LocalExecutor(second), resume=True
    )
    assert [s.batch_size for s in second.ran] == [4, 8]
    assert [p.resumed for p in resumed.points] == [True, True, False, False]
    assert [p.status for p in resumed.points] == ["ok"] * 4
    again = json.loads((folder / SWEEP_FILE).read_text())
    assert again["interrupted"] is False and again["created_at"] == data["created_at"]

    third = FakeRunner()
    Sweep(g, folder, check=no_check).run(LocalExecutor(third), resume=True)
    assert third.ran == []


def test_an_interrupted_result_is_kept_aside_and_its_point_runs_again(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    g = grid(batch_sizes=[1, 2])
    first = FakeRunner(lambda spec: "interrupted" if spec.batch_size == 1 else "ok")
    outcome = Sweep(g, folder, check=no_check).run(LocalExecutor(first))
    assert outcome.interrupted and [s.batch_size for s in first.ran] == [1]
    stopped = outcome.points[0]
    assert load_result(folder / str(stopped.file)).status == "interrupted"
    assert stopped.reason == "interrupted at batch 1"

    second = FakeRunner()
    Sweep(g, folder, check=no_check).run(LocalExecutor(second), resume=True)
    assert [s.batch_size for s in second.ran] == [1, 2]
    kept = list(folder.glob("*.interrupted-*.json"))
    assert len(kept) == 1 and load_result(kept[0]).status == "interrupted"
    assert load_result(folder / str(stopped.file)).status == "ok"


def test_an_unreadable_result_file_is_renamed_and_its_point_rerun(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    g = grid(batch_sizes=[1])
    sweep = Sweep(g, folder, check=no_check)
    sweep.run(LocalExecutor(FakeRunner()))
    path = folder / str(sweep.points[0].file)
    path.write_text("{ half a file")
    runner = FakeRunner()
    Sweep(g, folder, check=no_check).run(LocalExecutor(runner), resume=True)
    assert len(runner.ran) == 1
    assert [p.name for p in folder.glob("*.json-unreadable")] == [
        path.stem + ".unreadable.json-unreadable"
    ]


def test_resume_without_a_saved_sweep_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"no sweep\.json"):
        load_sweep_grid(tmp_path)


# -- largest batch that fits ------------------------------------------------------------------


def _point(**fields: Any) -> SweepPoint:
    spec = RunSpec(seq_len=32, **fields)
    return SweepPoint(index=1, settings={}, spec=spec, key=point_key(spec))


def test_max_batch_doubles_then_bisects(tmp_path: Path) -> None:
    runner = FakeRunner(lambda spec: "oom" if spec.batch_size > 37 else "ok")
    search = find_max_batch(_point(), MeasureOptions(), tmp_path, executor=LocalExecutor(runner))
    searched = [1, 2, 4, 8, 16, 32, 64, 48, 40, 36, 38, 37]
    assert [s.batch_size for s in runner.ran] == [*searched, 37, 38]  # then both confirmed
    assert (search.largest_ok, search.smallest_too_big, search.stopped) == (37, 38, None)
    assert [(p.batch_size, p.status, p.run) for p in search.probes][-4:] == [
        (38, "oom", 1),
        (37, "ok", 1),
        (37, "ok", 2),
        (38, "oom", 2),
    ]
    assert search.repeatable is True and search.note is None
    probe = runner.ran[0]
    assert (probe.warmup, probe.min_iters, probe.max_iters) == (1, 1, 2)
    assert len(list((tmp_path / PROBES_FOLDER).glob("*.json"))) == 14

    again = FakeRunner()
    repeat = find_max_batch(_point(), MeasureOptions(), tmp_path, executor=LocalExecutor(again))
    assert again.ran == [] and repeat.largest_ok == 37
    assert all(p.resumed for p in repeat.probes)


def test_max_batch_keeps_the_memory_cap_and_stops_at_the_limit(tmp_path: Path) -> None:
    runner = FakeRunner()
    search = find_max_batch(
        _point(memory_limit_mb=512),
        MeasureOptions(),
        tmp_path,
        executor=LocalExecutor(runner),
        limit=10,
    )
    assert [s.batch_size for s in runner.ran] == [1, 2, 4, 8, 10, 10]
    assert all(s.memory_limit_mb == 512 for s in runner.ran)
    assert search.largest_ok == 10 and search.smallest_too_big is None
    assert "the limit" in str(search.stopped)


@pytest.mark.parametrize(
    ("outcome", "largest", "stopped"),
    [
        (lambda spec: "oom", None, "even batch 1 ran out of memory"),
        (lambda spec: "crashed" if spec.batch_size == 8 else "ok", 4, "batch 8 ended 'crashed'"),
        (lambda spec: KeyboardInterrupt() if spec.batch_size == 4 else "ok", 2, "stopped"),
    ],
)
def test_max_batch_other_endings(tmp_path: Path, outcome: Any, largest: Any, stopped: str) -> None:
    search = find_max_batch(
        _point(), MeasureOptions(), tmp_path, executor=LocalExecutor(FakeRunner(outcome))
    )
    assert search.largest_ok == largest
    assert stopped in str(search.stopped)


def _flaky(
    batch: int, endings: list[str], steady: Callable[[int], str]
) -> Callable[[RunSpec], str]:
    """``batch`` ends as ``endings`` say, one per run; every other batch as ``steady`` says."""
    left = list(endings)

    def outcome(spec: RunSpec) -> str:
        return left.pop(0) if spec.batch_size == batch else steady(spec.batch_size)

    return outcome


def test_max_batch_answers_the_largest_batch_ok_every_time_it_ran(tmp_path: Path) -> None:
    runner = FakeRunner(_flaky(16, ["ok", "oom"], lambda b: "oom" if b > 16 else "ok"))
    search = find_max_batch(_point(), MeasureOptions(), tmp_path, executor=LocalExecutor(runner))
    searched = [1, 2, 4, 8, 16, 32, 24, 20, 18, 17]
    # 16 ran oom on its repeat: 8, the next batch that ran ok, is run again; 16 is the
    # smallest oom now and has run twice
    assert [s.batch_size for s in runner.ran] == [*searched, 16, 8]
    assert (search.largest_ok, search.smallest_too_big) == (8, 16)
    assert search.note == "not repeatable: 16 ran ok once and oom once"
    assert search.repeatable is False and search.stopped is None

    again = FakeRunner(lambda spec: "crashed")  # --resume: every probe comes from its file
    repeat = find_max_batch(_point(), MeasureOptions(), tmp_path, executor=LocalExecutor(again))
    assert again.ran == [] and all(p.resumed for p in repeat.probes)
    assert (repeat.largest_ok, repeat.note) == (8, search.note)


def test_max_batch_an_oom_that_runs_ok_on_its_repeat_is_flagged(tmp_path: Path) -> None:
    runner = FakeRunner(_flaky(6, ["oom", "ok"], lambda b: "oom" if b > 5 else "ok"))
    search = find_max_batch(_point(), MeasureOptions(), tmp_path, executor=LocalExecutor(runner))
    assert [s.batch_size for s in runner.ran][-3:] == [5, 5, 6]
    assert (search.largest_ok, search.smallest_too_big) == (5, 6)
    assert search.note == "not repeatable: 6 ran ok once and oom once"
    data = search.to_dict()
    assert (data["repeatable"], data["note"]) == (False, search.note)
    assert [p["run"] for p in data["probes"]][-2:] == [2, 2]


def test_max_batch_file(tmp_path: Path) -> None:
    runner = FakeRunner(lambda spec: "oom" if spec.batch_size > 5 else "ok")
    search = find_max_batch(_point(), MeasureOptions(), tmp_path, executor=LocalExecutor(runner))
    skipped = SweepPoint(index=2, settings={"device": "cuda"}, status="skipped", reason="no CUDA")
    save_max_batch(tmp_path, [search], [skipped])
    data = json.loads((tmp_path / MAX_BATCH_FILE).read_text())
    assert data["kind"] == "plmprof-max-batch"
    assert data["searches"][0]["largest_ok"] == 5 and data["searches"][0]["smallest_too_big"] == 6
    assert data["skipped"] == [{"index": 2, "settings": {"device": "cuda"}, "reason": "no CUDA"}]


def test_probe_spec_is_short() -> None:
    spec = probe_spec(RunSpec(seq_len=64, duration_s=30, token_budget=4096, quality=True), 16)
    assert spec.batch_size == 16 and spec.token_budget is None and not spec.quality
    assert spec.max_iters == 2 and spec.duration_s < 1
