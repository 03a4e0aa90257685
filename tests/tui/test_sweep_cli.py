"""``plmprof sweep``, ``report`` and ``compare`` on the command line: exit codes, messages, files.

Sweeps here use a fake runner instead of worker processes, except one small real sweep (e2e)."""

from __future__ import annotations

import csv
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engines.spec import RunSpec
from profilers.export import format_value
from profilers.options import MeasureOptions
from profilers.result import Result, load_result
from tui.cli import invoke

FAST = ["--seq-len", "32", "--duration", "0.5", "--min-iters", "3", "--warmup", "1"]


def make_result(spec: RunSpec, status: str = "ok", seq_s: float = 10.0) -> Result:
    ok = status == "ok"
    return Result(
        run_id=f"run{spec.batch_size}{status}",
        created_at="2026-01-01T00:00:00+00:00",
        status=status,
        spec=spec.to_dict(),
        options=MeasureOptions().to_dict(),
        environment={"cpu": "test CPU", "cpu_count": 2},
        message=None if ok else f"{status} at batch {spec.batch_size}",
        latency={"unit": "s", "p50": 0.1, "p90": 0.1, "p99": 0.2} if ok else None,
        throughput={"sequences_per_s": seq_s} if ok else None,
        memory={"unit": "MB", "max_ram": 100.0, "max_allocated": None},
    )


class FakeRunner:
    def __init__(self, outcome: Callable[[RunSpec], Any] | None = None) -> None:
        self.ran: list[RunSpec] = []
        self.outcome = outcome or (lambda spec: "ok")

    def __call__(self, spec: RunSpec, options: MeasureOptions, on_snapshot: Any) -> Result:
        self.ran.append(spec)
        outcome = self.outcome(spec)
        if isinstance(outcome, BaseException):
            raise outcome
        return make_result(spec, outcome, seq_s=10.0 * spec.batch_size)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeRunner]:
    def install(outcome: Callable[[RunSpec], Any] | None = None) -> FakeRunner:
        runner = FakeRunner(outcome)
        monkeypatch.setattr("tui.commands.sweep_command.session_runner", runner)
        return runner

    return install


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = invoke(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, " ".join(captured.err.split())


# -- sweep ------------------------------------------------------------------------------------


def test_dry_run_lists_points_and_skips_without_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake: Callable[..., FakeRunner]
) -> None:
    runner = fake()
    argv = ["sweep", "--models", "esm2_t6_8M,nope", "--batch-sizes", "1,2", *FAST, "--dry-run"]
    code, out, err = run(argv, capsys)
    assert code == 0
    assert "2 of 4 points cannot run here" in err
    assert "unknown model 'nope'" in err
    assert "2 point(s) would run" in out
    assert runner.ran == [] and list(tmp_path.iterdir()) == []


def test_point_tables_fit_80_columns_with_a_column_per_axis(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fake: Callable[..., FakeRunner],
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    fake()
    argv = ["sweep", "--dtypes", "fp32,bf16", "--batch-sizes", "1,4", *FAST]
    code, out, _ = run([*argv, "--dry-run"], capsys)
    assert code == 0
    code, done, err = run([*argv, "-o", "out"], capsys)
    assert code == 0
    for table in (out, done):
        lines = table.splitlines()
        assert max(len(line) for line in lines) <= 80
        header = next(line for line in lines if "batch" in line)
        assert "dtype" in header and "…" not in table
        rows = [line.split("│")[1:4] for line in lines if line.startswith("│")]
        cells = {tuple(cell.strip() for cell in row) for row in rows}
        assert cells == {
            ("1", "fp32", "1"),
            ("2", "fp32", "4"),
            ("3", "bf16", "1"),
            ("4", "bf16", "4"),
        }
    assert "#2 dtype=fp32 batch=4" in err  # the finished-point lines name points the same way


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sweep", "--batch-sizes", "1,,2"], "--batch-sizes: empty item in '1,,2'"),
        (["sweep", "--batch-sizes", "1,x"], "--batch-sizes must be a whole number (got 'x')"),
        (["sweep", "--memory-limit", "lots"], "cannot read memory size 'lots'"),
        (["sweep", "--grid", "missing.toml"], "grid file 'missing.toml' does not exist"),
        (["sweep", "--resume"], "--resume needs --output"),
        (["sweep"], "give the grid"),
        (["sweep", "--models", "nope", *FAST], "no point of the grid can run here (1 skipped)"),
        (["sweep", "--seq-len", "32", "--lengths", "uniref50-like"], "give one workload"),
        (["sweep", "--max-batch", "--batch-sizes", "1,2"], "drop --batch-sizes"),
        (["sweep", "--max-batch", "--seq-len", "32", "--max-batch-limit", "0"], "at least 1"),
    ],
)
def test_bad_sweep_input_is_a_clear_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2
    assert message in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models = [", "is not valid TOML"),
        ("colour = 'red'", "unknown sweep setting 'colour'"),
        ("[plot]\nx = 1", "table 'plot' is not a known table"),
        ("batch-sizes = [1]\n[run]\nbatch-sizes = [2]", "'batch-sizes' is given twice"),
    ],
)
def test_bad_grid_files_are_clear_errors(
    tmp_path: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "grid.toml").write_text(text)
    code, _, err = run(["sweep", "--grid", "grid.toml"], capsys)
    assert code == 2
    assert message in err


def test_a_sweep_runs_and_writes_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake: Callable[..., FakeRunner]
) -> None:
    runner = fake(lambda spec: "oom" if spec.batch_size == 4 else "ok")
    argv = ["sweep", "--batch-sizes", "1,2,4", "--devices", "cpu,neuron", *FAST, "-o", "out"]
    code, out, err = run(argv, capsys)
    assert code == 0
    assert [s.batch_size for s in runner.ran] == [1, 2, 4]
    assert "3 of 6 points cannot run here" in err and "Neuron" in err
    folder = tmp_path / "out"
    data = json.loads((folder / "sweep.json").read_text())
    assert data["counts"] == {"ok": 2, "oom": 1, "skipped": 3}
    assert data["grid"]["fixed"]["duration_s"] == 0.5
    files = sorted(p["file"] for p in data["points"] if p["status"] != "skipped")
    assert sorted(p.name for p in folder.glob("*.json") if p.name != "sweep.json") == files
    rows = list(csv.DictReader((folder / "sweep.csv").open()))
    assert [r["status"] for r in rows] == ["ok", "ok", "oom", "skipped", "skipped", "skipped"]
    assert "# plmprof benchmark report" in (folder / "report.md").read_text()
    assert "points: 2 ok, 1 oom, 3 skipped" in out


def test_a_sweep_where_nothing_ends_ok_exits_1(
    capsys: pytest.CaptureFixture[str], fake: Callable[..., FakeRunner]
) -> None:
    fake(lambda spec: "crashed")
    code, _, err = run(["sweep", "--batch-sizes", "1,2", *FAST, "-o", "out"], capsys)
    assert code == 1
    assert "no point ended ok" in err


def test_an_existing_folder_needs_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake: Callable[..., FakeRunner]
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    code, _, err = run(["sweep", "--batch-sizes", "1", *FAST, "-o", "out"], capsys)
    assert code == 2 and "is not empty; add --resume" in err
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_grid_file_with_flags_winning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake: Callable[..., FakeRunner]
) -> None:
    (tmp_path / "grid.toml").write_text(
        "[grid]\nmodels = ['esm2_t6_8M']\nbatch-sizes = [1, 2]\ndtypes = ['fp32', 'bf16']\n"
        "[run]\nseq-len = 32\nduration = 0.5\nmin-iters = 3\nwarmup = 1\nmemory-limit = '2GB'\n"
        "[measure]\nprice-per-hour = 1.5\n"
    )
    runner = fake()
    code, _, _ = run(["sweep", "--grid", "grid.toml", "--batch-sizes", "4", "-o", "o"], capsys)
    assert code == 0
    assert [(s.dtype, s.batch_size, s.memory_limit_mb) for s in runner.ran] == [
        ("fp32", 4, 2000),
        ("bf16", 4, 2000),
    ]
    grid = json.loads((tmp_path / "o" / "sweep.json").read_text())["grid"]
    assert grid["axes"] == {"dtype": ["fp32", "bf16"]}
    assert grid["options"] == {"price_per_hour": 1.5}


def test_yaml_grid_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake: Callable[..., FakeRunner]
) -> None:
    (tmp_path / "grid.yaml").write_text("batch-sizes: [1, 2]\nseq-len: 32\nduration: 0.5\n")
    if importlib.util.find_spec("yaml") is None:
        code, _, err = run(["sweep", "--grid", "grid.yaml"], capsys)
        assert code == 2 and "needs pyyaml" in err
        return
    runner = fake()
    code, _, _ = run(["sweep", "--grid", "grid.yaml", "-o", "o"], capsys)
    assert code == 0 and [s.batch_size for s in runner.ran] == [1, 2]


def test_ctrl_c_exits_130_and_resume_finishes_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake: Callable[..., FakeRunner]
) -> None:
    fake(lambda spec: KeyboardInterrupt() if spec.batch_size == 2 else "ok")
    code, _, err = run(["sweep", "--batch-sizes", "1,2,4", *FAST, "-o", "s"], capsys)
    assert code == 130
    assert "continue with plmprof sweep --resume --output s" in err
    saved = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert [p["status"] for p in saved["points"]] == ["ok", "interrupted", "pending"]

    runner = fake()
    code, out, err = run(["sweep", "--resume", "--output", "s"], capsys)  # grid from sweep.json
    assert code == 0
    assert "running 2 point(s) into 's' (1 already done)" in err
    assert [s.batch_size for s in runner.ran] == [2, 4]
    assert "ok (resumed)" in out
    done = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert [p["status"] for p in done["points"]] == ["ok", "ok", "ok"]


def test_max_batch_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake: Callable[..., FakeRunner]
) -> None:
    runner = fake(lambda spec: "oom" if spec.batch_size > 12 else "ok")
    argv = ["sweep", "--max-batch", "--seq-len", "32", "--memory-limit", "1GB", "-o", "mb"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert [s.batch_size for s in runner.ran] == [1, 2, 4, 8, 16, 12, 14, 13, 12, 13]
    assert all(s.memory_limit_mb == 1000 for s in runner.ran)
    data = json.loads((tmp_path / "mb" / "max-batch.json").read_text())
    assert (data["searches"][0]["largest_ok"], data["searches"][0]["smallest_too_big"]) == (12, 13)
    assert data["searches"][0]["repeatable"] is True
    assert len(list((tmp_path / "mb" / "probes").glob("*.json"))) == 10
    assert "12" in out and "1000 MB" in out


def test_max_batch_flags_a_boundary_that_moved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake: Callable[..., FakeRunner]
) -> None:
    endings = ["ok", "oom"]  # batch 12 runs ok, then out of memory on its repeat

    def outcome(spec: RunSpec) -> str:
        if spec.batch_size == 12:
            return endings.pop(0)
        return "oom" if spec.batch_size > 12 else "ok"

    fake(outcome)
    argv = ["sweep", "--max-batch", "--seq-len", "32", "--memory-limit", "1GB", "-o", "mb"]
    code, out, err = run(argv, capsys)
    assert code == 0
    assert "batch 12: ok" in err and "batch 12 again: oom" in err and "batch 8 again: ok" in err
    row = next(line for line in out.splitlines() if line.startswith("│"))
    assert [cell.strip() for cell in row.split("│")[3:5]] == ["8", "12"]
    assert "not repeatable: 12 ran ok once and oom once" in " ".join(out.split())
    search = json.loads((tmp_path / "mb" / "max-batch.json").read_text())["searches"][0]
    assert (search["largest_ok"], search["repeatable"]) == (8, False)


def test_max_batch_tables_fit_80_columns_with_a_column_per_axis(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fake: Callable[..., FakeRunner],
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    fake(lambda spec: "oom" if spec.batch_size > (12 if spec.dtype == "fp32" else 20) else "ok")
    argv = ["sweep", "--max-batch", "--dtypes", "fp32,bf16", "--seq-len", "32"]
    code, plan, _ = run([*argv, "--dry-run"], capsys)
    assert code == 0
    code, done, _ = run([*argv, "--memory-limit", "1GB", "-o", "mb"], capsys)
    assert code == 0
    for table in (plan, done):
        lines = table.splitlines()
        assert max(len(line) for line in lines) <= 80 and "…" not in table
        header = next(line for line in lines if line.startswith("┃"))
        assert "dtype" in header and "batch" not in header  # the batch is searched, not an axis
    rows = [line.split("│")[1:5] for line in done.splitlines() if line.startswith("│")]
    assert {tuple(cell.strip() for cell in row) for row in rows} == {
        ("1", "fp32", "12", "13"),
        ("2", "bf16", "20", "21"),
    }
    assert "1000 MB" in done


# -- report -----------------------------------------------------------------------------------


def results_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    for batch, seq_s in ((1, 12.5), (8, 80.0)):
        make_result(RunSpec(batch_size=batch, seq_len=32), seq_s=seq_s).save(
            folder / f"b{batch}.json"
        )
    return folder


def test_report_to_a_file_and_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = results_folder(tmp_path)
    code, _, err = run(["report", str(folder), "--output", "r/report.md"], capsys)
    assert code == 0 and "wrote r/report.md" in err
    text = (tmp_path / "r" / "report.md").read_text()
    assert f"| throughput | cpu · fp32 sdpa · len 32 | 8 | {format_value(80.0)} |" in text
    code, out, _ = run(["report", str(folder), "--export", "csv"], capsys)
    assert code == 0
    by_file = {r["file"]: r for r in csv.DictReader(out.splitlines())}
    assert float(by_file["b1.json"]["sequences_per_s"]) == 12.5
    code, out, _ = run(["report", str(folder), "--export", "json"], capsys)
    assert code == 0 and json.loads(out)["kind"] == "plmprof-report"


def test_report_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    folder = results_folder(tmp_path)
    code, _, _ = run(["report", str(folder), "--plots", "-o", "out/report.md"], capsys)
    assert code == 0
    pngs = sorted(p.name for p in (tmp_path / "out" / "plots").glob("*.png"))
    assert pngs == [
        "esm2_t6_8M-latency.png",
        "esm2_t6_8M-memory.png",
        "esm2_t6_8M-throughput.png",
    ]
    text = (tmp_path / "out" / "report.md").read_text()
    assert "](plots/esm2_t6_8M-throughput.png)" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "nowhere"], "'nowhere' does not exist"),
        (["report", "."], "no plmprof results in folder"),
        (["report", ".", "--export", "pdf"], "--export 'pdf' is not one of md, csv, json"),
    ],
)
def test_bad_report_input(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2 and message in err


# -- compare ----------------------------------------------------------------------------------


def pair(tmp_path: Path, b_seq_s: float, b_status: str = "ok") -> tuple[str, str]:
    spec = RunSpec(batch_size=8, seq_len=32)
    make_result(spec, seq_s=100.0).save(tmp_path / "a.json")
    make_result(spec, b_status, seq_s=b_seq_s).save(tmp_path / "b.json")
    return str(tmp_path / "a.json"), str(tmp_path / "b.json")


@pytest.mark.parametrize(
    ("b_seq_s", "b_status", "flags", "code"),
    [
        (90.0, "ok", [], 0),
        (90.0, "ok", ["--fail-if-slower", "5%"], 1),
        (97.0, "ok", ["--fail-if-slower", "5%"], 0),
        (97.0, "ok", ["--fail-if-slower", "2"], 1),
        (90.0, "ok", ["--metric", "p50", "--fail-if-slower", "5%"], 0),
        (0.0, "oom", ["--fail-if-slower", "5%"], 1),
    ],
)
def test_compare_exit_codes(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    b_seq_s: float,
    b_status: str,
    flags: list[str],
    code: int,
) -> None:
    a, b = pair(tmp_path, b_seq_s, b_status)
    got, out, err = run(["compare", a, b, *flags], capsys)
    assert got == code
    if code == 1:
        assert "regression" in err
    else:
        assert "throughput" in out or "p50" in out


@pytest.mark.parametrize(
    ("b_text", "flags", "message"),
    [
        ("{ nope", [], "is not a plmprof result (not JSON"),
        ('{"schema_version": "1.0"}', [], "is not a plmprof result"),
        ('{"schema_version": "9.0"}', [], "schema version '9.0' is not readable"),
        (None, ["--metric", "tokens"], "--metric 'tokens' is not one of"),
        (None, ["--fail-if-slower", "lots"], "--fail-if-slower 'lots' is not a percentage"),
    ],
)
def test_compare_bad_input_exits_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    b_text: str | None,
    flags: list[str],
    message: str,
) -> None:
    a, b = pair(tmp_path, 100.0)
    if b_text is not None:
        Path(b).write_text(b_text)
    code, _, err = run(["compare", a, b, *flags], capsys)
    assert code == 2 and message in err
    code, _, err = run(["compare", a, str(tmp_path / "missing.json")], capsys)
    assert code == 2 and "does not exist" in err


def test_compare_with_a_failed_reference_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = pair(tmp_path, 100.0)
    code, _, err = run(["compare", b, a], capsys)
    assert code == 0
    make_result(RunSpec(seq_len=32), "oom").save(a, overwrite=True)
    code, _, err = run(["compare", a, b], capsys)
    assert code == 2 and "cannot be the reference" in err


# -- one small real sweep ---------------------------------------------------------------------


@pytest.mark.e2e
def test_a_real_sweep_then_its_report_and_a_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sweep", "--models", "esm2_t6_8M", "--batch-sizes", "1,2", *FAST, "-o", "real"]
    code, out, _ = run(argv, capsys)
    assert code == 0, out
    folder = tmp_path / "real"
    data = json.loads((folder / "sweep.json").read_text())
    assert [p["status"] for p in data["points"]] == ["ok", "ok"]
    results = {p["settings"]["batch_size"]: load_result(folder / p["file"]) for p in data["points"]}
    assert all(r.latency and r.latency["count"] >= 3 for r in results.values())

    code, out, _ = run(["report", str(folder), "--export", "csv"], capsys)
    assert code == 0
    rows = {int(r["batch_size"]): r for r in csv.DictReader(out.splitlines())}
    for batch, result in results.items():
        assert result.throughput is not None and result.latency is not None
        assert float(rows[batch]["sequences_per_s"]) == pytest.approx(
            result.throughput["sequences_per_s"]
        )
        assert float(rows[batch]["p50_ms"]) == pytest.approx(result.latency["p50"] * 1000)
    assert rows[1]["realtime"] == "True"

    a, b = (str(folder / p["file"]) for p in data["points"])
    code, out, _ = run(["compare", a, b], capsys)
    assert code == 0 and "batch_size: 1 → 2" in out
