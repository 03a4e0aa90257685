"""Reports: every figure in the tables is the figure of the Result it came from. Results are built
by hand with known figures."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from engines.errors import InvalidInputError
from engines.spec import RunSpec
from profilers.export import format_value
from profilers.options import MeasureOptions
from profilers.report import (
    Row,
    batch_series,
    best,
    build_report,
    dominates,
    find_baseline,
    load_folder,
    pareto_front,
    quality_cosine_min,
    render_report,
    row_of,
    setup_rows,
    speedups,
)
from profilers.result import Result

ENV = {
    "cpu": "AMD EPYC",
    "cpu_count": 2,
    "memory_bytes": 25_000_000_000,
    "gpus": [],
    "python": "3.11.7",
    "torch": "2.13.0+cpu",
    "transformers": "5.23.0",
    "plmprof": "0.1.0",
    "instance_type": None,
    "platform": "Linux",
}
PRICE = {
    "usd_per_hour": 0.758,
    "price_kind": "on-demand",
    "price_date": "2023-09",
    "instance_type": "inf2.xlarge",
    "source": "AWS on-demand rate",
    "verified": True,
}


def result(
    name: str,
    *,
    batch: int = 1,
    dtype: str = "fp32",
    model: str = "esm2_t6_8M",
    device: str = "cpu",
    attention: str = "sdpa",
    int8: str = "none",
    packing: bool = False,
    status: str = "ok",
    seq_s: float | None = 10.0,
    p50: float | None = 0.1,
    p90: float | None = None,
    p99: float | None = None,
    ram: float | None = 500.0,
    allocated: float | None = None,
    mfu: float | None = None,
    jps: float | None = None,
    cost: float | None = None,
    quality: Any = None,
    created: str = "2026-01-01T00:00:00+00:00",
) -> Result:
    spec = RunSpec(
        model=model,
        device=device,
        dtype=dtype,
        attention=attention,
        int8=int8,
        packing=packing,
        batch_size=batch,
        seq_len=64,
    )
    ok = status == "ok"
    return Result(
        run_id=name,
        created_at=created,
        status=status,
        spec=spec.to_dict(),
        options=MeasureOptions().to_dict(),
        environment=dict(ENV),
        message=None if ok else f"{status}: too big",
        latency={"unit": "s", "p50": p50, "p90": p90 or p50, "p99": p99 or p50}
        if ok and p50 is not None
        else None,
        throughput={"sequences_per_s": seq_s, "tokens_per_s": None, "residues_per_s": None}
        if ok
        else None,
        memory={"unit": "MB", "max_ram": ram, "max_allocated": allocated},
        efficiency={"useful_mfu": mfu} if mfu is not None else None,
        energy={"joules_per_sequence": jps},
        cost={**PRICE, "per_million_sequences": cost} if cost is not None else None,
        quality=quality,
        workers=[{"device_name": "AMD EPYC"}],
    )


def save(folder: Path, *results: Result) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for r in results:
        r.save(folder / f"{r.run_id}.json")
    return folder


def rows(*results: Result) -> list[Row]:
    return [row_of(r, f"{r.run_id}.json") for r in results]


# -- rows -------------------------------------------------------------------------------------


def test_a_row_holds_the_results_figures() -> None:
    r = result(
        "a", batch=8, seq_s=123.4, p50=0.0625, p90=0.07, p99=0.08, ram=812.5, mfu=0.123, jps=0.5
    )
    r.cost = {**PRICE, "per_million_sequences": 1.71}
    row = row_of(r, "a.json")
    assert row.sequences_per_s == 123.4
    assert row.p50_ms == pytest.approx(62.5)
    assert row.p90_ms == pytest.approx(70.0)
    assert row.p99_ms == pytest.approx(80.0)
    assert (row.peak_memory_mb, row.memory_kind) == (812.5, "RSS")
    assert row.useful_mfu_pct == pytest.approx(12.3)
    assert row.joules_per_sequence == 0.5
    assert row.usd_per_million == 1.71
    assert row.batch_size == 8 and row.batching == "8"
    assert row.config == "cpu · fp32 sdpa · len 64"
    assert row.device_name == "AMD EPYC"


def test_device_memory_is_the_allocator_peak_when_there_is_one() -> None:
    row = row_of(result("g", device="cuda", ram=3000.0, allocated=1234.0))
    assert (row.peak_memory_mb, row.memory_kind) == (1234.0, "allocated")


@pytest.mark.parametrize(
    ("quality", "expected"),
    [
        (None, None),
        ({}, None),
        ([0.9], None),
        ({"cosine_min": "high"}, None),
        ({"cosine_min": True}, None),
        ({"cosine_min": float("nan")}, None),
        ({"cosine_min": 0.9987, "cosine_mean": 0.9995}, 0.9987),
    ],
)
def test_quality_is_read_defensively(quality: Any, expected: float | None) -> None:
    assert quality_cosine_min(result("q", quality=quality)) == expected


# -- picks ------------------------------------------------------------------------------------


def test_best_of_ignores_missing_figures_and_keeps_the_first_of_ties() -> None:
    a, b, c = rows(result("a", seq_s=5.0), result("b", seq_s=None), result("c", seq_s=5.0))
    assert best([a, b, c], lambda r: r.sequences_per_s, highest=True) is a
    assert best([b], lambda r: r.sequences_per_s, highest=True) is None
    assert best([a, c], lambda r: r.p50_ms, highest=False) is a


def test_dominates() -> None:
    assert dominates([1.0, 10.0], [2.0, 10.0], ["min", "max"])
    assert not dominates([1.0, 10.0], [1.0, 10.0], ["min", "max"])
    assert not dominates([1.0, 5.0], [2.0, 10.0], ["min", "max"])


def test_pareto_front_of_latency_against_throughput() -> None:
    # (p50 s, seq/s): b is dominated by a; d is dominated by c; e lacks a figure.
    a, b, c, d, e = rows(
        result("a", batch=1, p50=0.010, seq_s=100.0),
        result("b", batch=2, p50=0.020, seq_s=90.0),
        result("c", batch=8, p50=0.050, seq_s=160.0),
        result("d", batch=16, p50=0.090, seq_s=150.0),
        result("e", batch=32, p50=None, seq_s=999.0),
    )
    objectives = [(lambda r: r.p50_ms, "min"), (lambda r: r.sequences_per_s, "max")]
    assert pareto_front([a, b, c, d, e], objectives) == [a, c]
    # With memory as a third objective, d (less memory) joins the front.
    small = row_of(result("d2", batch=16, p50=0.090, seq_s=150.0, ram=10.0))
    with_memory = [*objectives, (lambda r: r.peak_memory_mb, "min")]
    assert pareto_front([a, b, c, small], with_memory) == [a, c, small]
    with pytest.raises(ValueError, match="'min' or 'max'"):
        pareto_front([a], [(lambda r: r.p50_ms, "low")])


def test_the_baseline_is_fp32_with_the_same_model_device_and_batch() -> None:
    base_sdpa, base_eager, bf16_eager, bf16_b8, bf16_other_device, int8 = rows(
        result("base_sdpa", attention="sdpa"),
        result("base_eager", attention="eager"),
        result("bf16_eager", dtype="bf16", attention="eager"),
        result("bf16_b8", dtype="bf16", batch=8),
        result("bf16_cuda", dtype="bf16", device="cuda"),
        result("int8", int8="dynamic"),
    )
    everything = [base_sdpa, base_eager, bf16_eager, bf16_b8, bf16_other_device, int8]
    assert find_baseline(base_sdpa, everything) is None  # it is the baseline
    assert find_baseline(base_eager, everything) is base_sdpa  # eager vs the default
    assert find_baseline(bf16_eager, everything) is base_eager  # same attention first
    assert find_baseline(bf16_b8, everything) is None  # no fp32 at batch 8
    assert find_baseline(bf16_other_device, everything) is None  # no fp32 on cuda
    assert find_baseline(int8, everything) is base_sdpa


def test_a_packed_run_is_measured_against_the_same_run_unpacked() -> None:
    padded, packed, packed_bf16 = rows(
        result("padded"),
        result("packed", packing=True, seq_s=15.0),
        result("packed_bf16", packing=True, dtype="bf16"),
    )
    everything = [padded, packed, packed_bf16]
    assert not packed.plain and "packed" in packed.config
    assert find_baseline(packed, everything) is padded
    assert find_baseline(packed_bf16, everything) is padded
    [speedup] = [s for s in speedups(everything) if s.row is packed]
    assert speedup.throughput_x == pytest.approx(1.5)


def test_the_latest_baseline_wins() -> None:
    old, new, fast = rows(
        result("old", created="2026-01-01T00:00:00+00:00"),
        result("new", created="2026-02-01T00:00:00+00:00"),
        result("fast", dtype="bf16"),
    )
    assert find_baseline(fast, [old, new, fast]) is new


def test_batch_series_per_configuration() -> None:
    series = batch_series(
        rows(
            result("a", batch=8, seq_s=80.0),
            result("b", batch=1, seq_s=10.0),
            result("c", batch=4, status="oom"),
            result("d", batch=1, dtype="bf16", seq_s=7.0),
        ),
        lambda r: r.sequences_per_s,
    )
    assert series == {
        "cpu · fp32 sdpa · len 64": [(1, 10.0), (8, 80.0)],
        "cpu · bf16 sdpa · len 64": [(1, 7.0)],
    }


# -- the report -------------------------------------------------------------------------------


def sample(tmp_path: Path) -> Path:
    return save(
        tmp_path / "results",
        result("fp32-b1", batch=1, seq_s=20.0, p50=0.050, p99=0.060, ram=400.0, cost=10.5),
        result("fp32-b8", batch=8, seq_s=64.0, p50=0.125, p99=0.150, ram=600.0, cost=3.29),
        result("bf16-b1", batch=1, dtype="bf16", seq_s=30.0, p50=0.033, ram=300.0, cost=7.0),
        result(
            "bf16-b8",
            batch=8,
            dtype="bf16",
            seq_s=96.0,
            p50=0.083,
            ram=450.0,
            cost=2.19,
            quality={"cosine_min": 0.9991},
        ),
        result("fp32-b32", batch=32, status="oom"),
        result("t12-b1", model="esm2_t12_35M", batch=1, seq_s=5.0, p50=0.2),
    )


def test_report_groups_per_model_and_picks_settings(tmp_path: Path) -> None:
    report = build_report(load_folder(sample(tmp_path)))
    assert [m.model for m in report.models] == ["esm2_t6_8M", "esm2_t12_35M"]
    small = report.models[0]
    assert [r.run_id for r in report.failed] == ["fp32-b32"]
    pairs = {p.config: p for p in small.pairs}
    bf16 = pairs["cpu · bf16 sdpa · len 64"]
    assert bf16.realtime is not None and bf16.realtime.run_id == "bf16-b1"
    assert bf16.throughput is not None and bf16.throughput.run_id == "bf16-b8"
    assert list(pairs) == ["cpu · bf16 sdpa · len 64", "cpu · fp32 sdpa · len 64"]
    assert small.best_throughput is not None and small.best_throughput.run_id == "bf16-b8"
    assert small.best_latency is not None and small.best_latency.run_id == "bf16-b1"
    assert small.best_cost is not None and small.best_cost.run_id == "bf16-b8"
    assert [r.run_id for r in small.pareto_2d] == ["bf16-b1", "bf16-b8"]
    assert report.models[1].best_cost is None  # no price for that model's results
    speedups = {(s.row.run_id, s.baseline.run_id): s for s in small.speedups}
    assert set(speedups) == {("bf16-b1", "fp32-b1"), ("bf16-b8", "fp32-b8")}
    at8 = speedups[("bf16-b8", "fp32-b8")]
    assert at8.throughput_x == pytest.approx(96.0 / 64.0)
    assert at8.latency_x == pytest.approx(0.125 / 0.083)
    assert at8.memory_x == pytest.approx(450.0 / 600.0)
    assert at8.cosine_min == 0.9991
    assert speedups[("bf16-b1", "fp32-b1")].cosine_min is None


def _table(markdown: str, heading: str) -> list[list[str]]:
    """The rows of the first table after ``heading``."""
    section = markdown.split(heading, 1)[1]
    lines = [line for line in section.split("\n\n", 2)[1].splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def test_markdown_tables_show_the_results_figures(tmp_path: Path) -> None:
    report = build_report(load_folder(sample(tmp_path)))
    text = render_report(report, "md")
    settings = _table(text, "### Real-time (batch 1) and throughput-optimized settings")
    assert settings[0] == [
        "real-time",
        "cpu · bf16 sdpa · len 64",
        "1",
        format_value(30.0),
        format_value(33.0),
        format_value(33.0),
        format_value(300.0),
        "–",
        "–",
        format_value(7.0),
    ]
    assert settings[1][:6] == [
        "throughput",
        "cpu · bf16 sdpa · len 64",
        "8",
        "96.00",
        "83.00",
        "83.00",
    ]
    assert settings[3][:5] == ["throughput", "cpu · fp32 sdpa · len 64", "8", "64.00", "125"]
    best_rows = _table(text, "### Best configuration")
    assert best_rows == [
        ["throughput", "cpu · bf16 sdpa · len 64", "8", "96.00 seq/s"],
        ["latency (p50)", "cpu · bf16 sdpa · len 64", "1", "33.00 ms"],
        ["cost", "cpu · bf16 sdpa · len 64", "8", "2.19 USD per 1M sequences"],
    ]
    speed = {row[1]: row for row in _table(text, "### Speed-ups against the fp32 baseline")}
    assert speed["8"][5:] == ["1.50×", f"{0.125 / 0.083:.2f}×", "0.75×", format_value(0.9991)]
    assert speed["1"][5:] == [f"{30 / 20:.2f}×", f"{50 / 33:.2f}×", "0.75×", "–"]
    setup = dict((r[0], r[1]) for r in _table(text, "## Setup"))
    assert setup["hardware"] == "AMD EPYC (2 cores, 25.0 GB RAM)"
    assert "0.758 USD/h on-demand inf2.xlarge (rate dated 2023-09" in setup["price"]
    assert "no price given" in setup["price"]  # the 35M result had none: both are listed
    assert (
        setup["software"] == "plmprof 0.1.0, Python 3.11.7, torch 2.13.0+cpu, transformers 5.23.0"
    )
    assert "fp32-b32.json | oom | oom: too big" in text
    assert "No point of this model" not in text


def test_csv_and_json_exports_carry_the_same_figures(tmp_path: Path) -> None:
    report = build_report(load_folder(sample(tmp_path)))
    table = {r["file"]: r for r in csv.DictReader(io.StringIO(render_report(report, "csv")))}
    assert float(table["bf16-b8.json"]["sequences_per_s"]) == 96.0
    assert float(table["bf16-b8.json"]["p50_ms"]) == pytest.approx(83.0)
    assert table["bf16-b8.json"]["best_for"] == "throughput;cost"
    assert table["bf16-b8.json"]["throughput_optimized"] == "True"
    assert table["bf16-b8.json"]["baseline_file"] == "fp32-b8.json"
    assert float(table["bf16-b8.json"]["throughput_x"]) == pytest.approx(1.5)
    assert table["bf16-b1.json"]["realtime"] == "True"
    assert table["bf16-b1.json"]["pareto"] == "latency-throughput"
    assert table["fp32-b32.json"]["status"] == "oom"
    data = json.loads(render_report(report, "json"))
    assert data["models"][0]["best"] == {
        "throughput": "bf16-b8.json",
        "latency": "bf16-b1.json",
        "cost": "bf16-b8.json",
    }
    assert {r["file"]: r["sequences_per_s"] for r in data["rows"]}["fp32-b8.json"] == 64.0
    with pytest.raises(InvalidInputError, match="report format 'pdf'"):
        render_report(report, "pdf")


def test_setup_lists_every_distinct_value() -> None:
    a, b = result("a"), result("b")
    b.environment = {**ENV, "torch": "2.11.0"}
    software = dict(setup_rows([a, b]))["software"]
    assert "torch 2.13.0+cpu" in software and "torch 2.11.0" in software


# -- loading ----------------------------------------------------------------------------------


def test_loading_lists_files_that_are_not_results(tmp_path: Path) -> None:
    folder = save(tmp_path / "r", result("good"))
    (folder / "broken.json").write_text("{ not json")
    (folder / "other.json").write_text('{"schema_version": "1.0", "hello": 1}')
    (folder / "list.json").write_text("[1, 2]")
    (folder / "notes.txt").write_text("ignored")
    loaded = load_folder(folder)
    assert [name for name, _ in loaded.results] == ["good.json"]
    reasons = dict(loaded.unreadable)
    assert set(reasons) == {"broken.json", "other.json", "list.json"}
    assert "not JSON" in reasons["broken.json"]
    assert "not a plmprof result" in reasons["other.json"]
    report_text = render_report(build_report(loaded), "md")
    assert "| broken.json | unreadable |" in report_text


def test_loading_an_empty_or_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no plmprof results in folder"):
        load_folder(tmp_path)
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_folder(tmp_path / "nope")
    assert load_folder(tmp_path, required=False).results == []


def test_a_single_result_file_can_be_reported(tmp_path: Path) -> None:
    folder = save(tmp_path, result("one"))
    loaded = load_folder(folder / "one.json")
    assert [name for name, _ in loaded.results] == ["one.json"]


def test_skipped_sweep_points_are_listed(tmp_path: Path) -> None:
    folder = save(tmp_path, result("one"))
    sweep = {
        "kind": "plmprof-sweep",
        "points": [
            {"key": "k1", "status": "ok", "run_id": "one"},
            {"key": None, "settings": {"device": "cuda"}, "status": "skipped", "reason": "no CUDA"},
            {"key": "k3", "status": "interrupted", "run_id": None, "reason": "stopped"},
        ],
    }
    (folder / "sweep.json").write_text(json.dumps(sweep))
    report = build_report(load_folder(folder))
    assert report.skipped == [
        {"point": "device=cuda", "status": "skipped", "reason": "no CUDA"},
        {"point": "k3", "status": "interrupted", "reason": "stopped"},
    ]
    assert "| device=cuda | skipped | no CUDA |" in render_report(report, "md")


def test_max_batch_section(tmp_path: Path) -> None:
    data = {
        "kind": "plmprof-max-batch",
        "searches": [
            {"model": "esm2_t6_8M", "device": "cpu", "largest_ok": 37, "smallest_too_big": 38},
            {
                "model": "esm2_t12_35M",
                "device": "cpu",
                "largest_ok": 8,
                "smallest_too_big": 16,
                "note": "not repeatable: 16 ran ok once and oom once",
            },
        ],
    }
    (tmp_path / "max-batch.json").write_text(json.dumps(data))
    save(tmp_path / "probes", result("probe"))
    text = render_report(build_report(load_folder(tmp_path)), "md")
    assert "| esm2_t6_8M | cpu | 37 | 38 | device memory |  |" in text
    note = "not repeatable: 16 ran ok once and oom once"
    assert f"| esm2_t12_35M | cpu | 8 | 16 | device memory | {note} |" in text
    assert "| hardware | AMD EPYC (2 cores, 25.0 GB RAM) |" in text  # read from the probes


# -- plots ------------------------------------------------------------------------------------


def test_plots_draw_the_reports_figures(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from profilers.plots import draw_report

    report = build_report(load_folder(sample(tmp_path)))
    drawn = {(d.model, d.kind): d for d in draw_report(report, tmp_path / "plots")}
    assert set(drawn) == {
        (m, k) for m in ("esm2_t6_8M", "esm2_t12_35M") for k in ("throughput", "latency", "memory")
    }
    throughput = drawn[("esm2_t6_8M", "throughput")]
    assert throughput.series == {
        "cpu · bf16 sdpa · len 64": [(1.0, 30.0), (8.0, 96.0)],
        "cpu · fp32 sdpa · len 64": [(1.0, 20.0), (8.0, 64.0)],
    }
    latency = drawn[("esm2_t6_8M", "latency")].series
    assert latency["cpu · fp32 sdpa · len 64 p50"] == pytest.approx([(1.0, 50.0), (8.0, 125.0)])
    assert latency["cpu · fp32 sdpa · len 64 p99"] == pytest.approx([(1.0, 60.0), (8.0, 150.0)])
    assert len(latency) == 6
    memory = drawn[("esm2_t6_8M", "memory")]
    assert memory.series["cpu · bf16 sdpa · len 64"] == [(1.0, 300.0), (8.0, 450.0)]
    assert "RSS" in memory.ylabel
    for plot in drawn.values():
        assert plot.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_need_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from engines.errors import UnsupportedError
    from profilers.plots import require_matplotlib

    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(UnsupportedError, match="pip install matplotlib"):
        require_matplotlib()


def test_a_sweep_over_several_hosts_is_grouped_by_hardware(tmp_path: Path) -> None:
    """Results from cluster nodes: each row names its hardware, and a model that ran on more
    than one gets a by-hardware table with the best of each."""
    runs = [
        ("g5", "g5.xlarge", "cuda", "NVIDIA A10G", 900.0, 0.01),
        ("inf2", "inf2.xlarge", "neuron", "NeuronCore-v2", 1200.0, 0.02),
        ("cpu", None, "cpu", "AMD EPYC", 40.0, 0.2),
    ]
    for name, instance, device, device_name, seq_s, p50 in runs:
        r = result(name, device=device, seq_s=seq_s, p50=p50)
        r.environment = {**ENV, "instance_type": instance, "host": f"{name}-host"}
        r.environment["node"] = {"host": f"{name}-host", "ray_node_id": name * 4}
        r.workers = [{"device_name": device_name}]
        r.save(tmp_path / f"{name}.json")
    report = build_report(load_folder(tmp_path))
    assert {row.hardware for row in report.rows} == {
        "g5.xlarge · NVIDIA A10G",
        "inf2.xlarge · NeuronCore-v2",
        "cpu-host · AMD EPYC",
    }
    text = render_report(report, "md")
    section = text.split("### By hardware")[1].split("###")[0]
    assert "| inf2.xlarge · NeuronCore-v2 | 1 | 1,200" in section
    assert "cpu-host · AMD EPYC" in section
    one_host = tmp_path / "one"
    result("a").save(one_host / "a.json")
    assert "### By hardware" not in render_report(build_report(load_folder(one_host)), "md")


def test_figures_just_under_one_do_not_read_as_one() -> None:
    assert format_value(0.99956) == "0.99956"  # a cosine that rounds to 1 at 3 figures
    assert format_value(0.9999999) == "1"  # beyond six figures it is 1 for every reader
    assert format_value(0.0487) == "0.0487"
    assert format_value(0.5) == "0.5"


def test_performance_table_has_the_aws_columns_sorted_by_cost(tmp_path: Path) -> None:
    cheap = result("cheap-b8", batch=8, seq_s=96.0, p50=0.083, p99=0.09, cost=2.19)
    cheap.cost = {**(cheap.cost or {}), "per_million_residues": 0.034}
    dear = result("dear-b1", seq_s=30.0, p50=0.033, cost=7.0)
    gpu = result("gpu-b4", batch=4, device="cuda", seq_s=500.0, p50=0.008)
    gpu.environment = {**ENV, "cuda_runtime": "12.4", "instance_type": "g5.xlarge"}
    neuron = result("neuron-b1", device="neuron", seq_s=40.0, p50=0.025, cost=5.0)
    neuron.environment = {**ENV, "torch_neuronx": "2.1.2.2.3.0", "instance_type": "inf2.xlarge"}
    failed = result("oom-b64", batch=64, status="oom")
    report = build_report(load_folder(save(tmp_path / "r", dear, gpu, failed, cheap, neuron)))
    text = render_report(report, "md")
    section = text.split("## Performance table\n", 1)[1]
    lines = [line for line in section.split("\n## ")[0].splitlines() if line.startswith("|")]
    header, *table = [[c.strip() for c in line.strip("|").split(" | ")] for line in lines]
    del table[0]  # the |---| line
    assert header == [
        "Model",
        "Framework",
        "Inst. Type",
        "Throughput (/sec)",
        "Latency P50 (ms)",
        "Latency P99 (ms)",
        "Cost per 1M inferences",
        "Cost per 1M residues",
        "Application Type",
        "Neuron / CUDA / torch version",
        "Run Mode",
        "Batch Size",
        "Model details",
    ]
    # cheapest first, the unpriced GPU run last; the failed run is not in the table
    assert [(r[3], r[6]) for r in table] == [
        ("96.00", "2.19"),
        ("40.00", "5.00"),
        ("30.00", "7.00"),
        ("500", "–"),
    ]
    assert table[0] == [
        "esm2_t6_8M",
        "PyTorch 2.13.0+cpu",
        "inf2.xlarge",  # the price's instance type when the host does not know its own
        "96.00",
        "83.00",
        "90.00",
        "2.19",
        "0.034",
        "Batch",
        "torch 2.13.0+cpu",
        "Single worker",
        "8",
        "fp32 sdpa, len 64",
    ]
    assert table[1][2] == "inf2.xlarge" and table[1][9] == "torch-neuronx 2.1.2.2.3.0"
    assert table[2][8] == "Real Time"
    assert table[3][2] == "g5.xlarge" and table[3][9] == "torch 2.13.0+cpu, CUDA 12.4"
    csv_rows = {r["file"]: r for r in csv.DictReader(io.StringIO(render_report(report, "csv")))}
    assert float(csv_rows["cheap-b8.json"]["usd_per_million_residues"]) == 0.034
    assert csv_rows["cheap-b8.json"]["application_type"] == "Batch"
    assert csv_rows["neuron-b1.json"]["software"] == "torch-neuronx 2.1.2.2.3.0"
    assert csv_rows["gpu-b4.json"]["instance_type"] == "g5.xlarge"


def _performance_rows(text: str) -> tuple[list[str], list[list[str]], str]:
    """Headings, rows and the sentence above the Markdown performance table."""
    section = text.split("## Performance table\n", 1)[1].split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header, _, *table = [[c.strip() for c in line.strip("|").split(" | ")] for line in lines]
    return header, table, section.split("|", 1)[0]


def test_performance_table_sorts_by_the_chosen_figure(tmp_path: Path) -> None:
    fast = result("fast", batch=8, seq_s=500.0, p50=0.2, p99=0.3, ram=900.0, cost=3.0)
    slow = result("slow", batch=1, seq_s=20.0, p50=0.01, p99=0.5, ram=300.0, cost=1.0)
    mid = result("mid", batch=4, seq_s=100.0, p50=0.05, ram=None, cost=None)
    failed = result("oom", batch=64, status="oom", seq_s=900.0)
    fast.cost = {**(fast.cost or {}), "per_million_residues": 0.01}
    slow.cost = {**(slow.cost or {}), "per_million_residues": 0.05}
    report = build_report(load_folder(save(tmp_path / "r", fast, slow, mid, failed)))

    def order(sort: str) -> list[str]:
        header, table, _ = _performance_rows(render_report(report, "md", sort))
        return [row[header.index("Throughput (/sec)")] for row in table]

    assert order("cost") == ["20.00", "500", "100"]  # unpriced last
    assert order("cost-residues") == ["500", "20.00", "100"]
    assert order("throughput") == ["500", "100", "20.00"]
    assert order("p50") == ["20.00", "100", "500"]
    assert order("p99") == ["100", "500", "20.00"]
    assert order("batch") == ["20.00", "100", "500"]
    header, table, sentence = _performance_rows(render_report(report, "md", "memory"))
    # memory is not an AWS column: the sorted figure gets its own column at the end
    assert header[-1] == "Peak memory (MB)" and len(header) == 14
    assert [row[-1] for row in table] == ["300", "900", "–"]
    assert "least peak memory first (runs without a memory peak last" in " ".join(sentence.split())
    header, _, sentence = _performance_rows(render_report(report, "md"))
    assert len(header) == 13  # the default adds no column
    assert "cheapest per 1M sequences first" in sentence
    with pytest.raises(InvalidInputError, match="--sort 'fast' is not one of cost, "):
        render_report(report, "json", "fast")


def test_report_sort_option_reaches_the_table(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tui.cli import app

    folder = save(tmp_path / "r", result("a", seq_s=5.0, cost=1.0), result("b", seq_s=50.0))
    by_rate = CliRunner().invoke(app, ["report", str(folder), "--sort", "throughput"])
    assert by_rate.exit_code == 0, by_rate.output
    _, table, _ = _performance_rows(by_rate.output)
    assert [row[3] for row in table] == ["50.00", "5.00"]
    from profilers.report.performance import SORT_KEYS

    help_text = " ".join(CliRunner().invoke(app, ["report", "--help"]).output.split())
    assert all(name in help_text for name in SORT_KEYS), help_text


def test_a_run_over_several_workers_is_data_parallel() -> None:
    from profilers.report.performance import run_mode

    assert run_mode({"workers": 1}) == "Single worker"
    assert run_mode({"workers": 2}) == "Data Parallel (2 workers)"
    assert run_mode({"workers": 1, "devices": ["cuda:0", "cuda:1", "cuda:2"]}) == (
        "Data Parallel (3 workers)"
    )


def test_plots_across_model_size_length_and_devices(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the plots extra (matplotlib) is not installed")
    from profilers.plots import draw_report

    def run(name: str, model: str, params: int, length: int, seq_s: float, **kw: Any) -> Result:
        r = result(name, model=model, batch=8, seq_s=seq_s, ram=params / 1e4, **kw)
        r.spec = {**r.spec, "seq_len": length}
        r.model = {"id": model, "parameters": params}
        return r

    small, large = ("esm2_t6_8M", 7_409_081), ("esm2_t12_35M", 33_000_000)
    runs = [
        run("s64", *small, 64, 100.0),
        run("s128", *small, 128, 60.0),
        run("l64", *large, 64, 30.0),
        run("l64-oom", *large, 256, 1.0, status="oom"),  # not ok: left out
        run("s64-gpu", *small, 64, 900.0, device="cuda"),
    ]
    runs[-1].environment = {**ENV, "instance_type": "g5.xlarge"}
    report = build_report(load_folder(save(tmp_path / "r", *runs)))
    drawn = {d.kind: d for d in draw_report(report, tmp_path / "plots")}
    size = drawn["by-model-size-throughput"]
    line = [(7_409_081.0, 100.0), (33_000_000.0, 30.0)]
    assert size.series == {"cpu · fp32 sdpa · batch 8 · len 64": line}
    assert size.xlabel == "model parameters"
    assert drawn["by-model-size-memory"].series["cpu · fp32 sdpa · batch 8 · len 64"] == [
        (7_409_081.0, pytest.approx(740.9081)),
        (33_000_000.0, pytest.approx(3300.0)),
    ]
    length = drawn["by-length-throughput"]
    assert length.series == {
        "esm2_t6_8M · cpu · fp32 sdpa · batch 8": [(64.0, 100.0), (128.0, 60.0)]
    }
    assert length.xlabel == "sequence length (residues)"
    assert "by-length-memory" in drawn
    devices = drawn["devices"]  # esm2_t6_8M ran on the CPU host and on a g5.xlarge
    assert devices.model == "esm2_t6_8M"
    assert devices.series == {
        "AMD EPYC · fp32 sdpa · len 64": [(8.0, 100.0)],
        "AMD EPYC · fp32 sdpa · len 128": [(8.0, 60.0)],
        "g5.xlarge · AMD EPYC · fp32 sdpa · len 64": [(8.0, 900.0)],
    }
    assert devices.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_legends_read_numbers_as_numbers() -> None:
    pytest.importorskip("matplotlib", reason="the plots extra (matplotlib) is not installed")
    from profilers.plots import in_number_order

    labels = ["cpu · batch 16 · len 128", "cpu · batch 4 · len 64", "cpu · batch 4 · len 128"]
    assert sorted(labels, key=in_number_order) == [
        "cpu · batch 4 · len 64",
        "cpu · batch 4 · len 128",
        "cpu · batch 16 · len 128",
    ]
    assert sorted(["fp32 · 2.5 s", "fp16 · 10 s", "bf16"], key=in_number_order) == [
        "bf16",
        "fp16 · 10 s",
        "fp32 · 2.5 s",
    ]
