"""The pure parts of the TUI: formatting, the histogram, the percentile table, panels' text."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from rich.console import Console
from tui_fakes import LATENCIES, WINDOW, gpu_sample, host_sample, neuron_sample, snapshot, summary

from engines.errors import InvalidInputError
from engines.messages import Status
from engines.spec import RunSpec
from profilers.export import format_value
from profilers.options import MeasureOptions
from profilers.stats import histogram_of_sorted, min_samples
from profilers.telemetry.samples import HpuSample, TelemetrySample
from tui.render.summary import STATUS_WORDS, status_words
from tui.screens.compare import compare_cell, ratio
from tui.screens.setup import pick_device
from tui.screens.setup_fields import widget_id
from tui.screens.setup_form import COMPOUND_ROWS, form_values, spec_from_form
from tui.widgets.devices import devices_text, gpu_text, host_text, neuron_text
from tui.widgets.histogram import columns, render_histogram
from tui.widgets.latency import UNBACKED, backed_note, latency_table, percentile_cell
from tui.widgets.memory import memory_text
from tui.widgets.trend import trend_line
from tui.widgets.units import bar, duration, ms, number, size, size_pair
from tui.widgets.workers import LiveRun, describe_spec, header_text


def test_units_read_as_a_person_writes_them() -> None:
    assert ms(0.0227) == "22.7 ms"
    assert ms(0.00123) == "1.23 ms"
    assert ms(1.2) == "1,200 ms"
    assert ms(None) == "–"
    assert number(69_333.0) == "69,333"
    assert number(0.95, "J") == "0.95 J"
    assert number(0.0487, "seq/s") == "0.0487 seq/s"  # significant figures, not "0.0"
    assert number(12.34) == "12.3"
    assert number(99.97) == "100"
    assert size(448_000_000) == "448 MB"
    assert size(12_000_000_000) == "12.0 GB"
    assert size_pair(12e9, 32e9) == "12.0/32.0 GB"
    assert duration(4.0) == "4.0 s"
    assert duration(185) == "3 min 05 s"


def test_bar_fills_in_eighths_and_keeps_its_width() -> None:
    for fraction in (0.0, 0.13, 0.5, 0.99, 1.0, 1.7):
        assert len(bar(fraction, 12).plain) == 12
    assert bar(0.5, 8).plain == "████    "
    assert bar(None, 5).plain == "·····"


def test_percentile_is_marked_when_too_few_samples_back_it() -> None:
    window = summary(WINDOW)  # 40 samples: p50 backed (11), p90 not (64)
    assert percentile_cell(window, "p50").plain == ms(window.p50)
    assert percentile_cell(window, "p90").plain == ms(window.p90) + UNBACKED
    total = summary(LATENCIES)  # 100 samples: p90 backed, p95 (130) and p99 (662) not
    assert percentile_cell(total, "p90").plain == ms(total.p90)
    assert percentile_cell(total, "p99").plain == ms(total.p99) + UNBACKED
    note = backed_note(window, total).plain
    assert f"p90 needs {min_samples(90):,}" in note


def test_latency_table_shows_the_fed_percentiles() -> None:
    window, total = summary(WINDOW), summary(LATENCIES)
    lines = latency_table(window, total, 5.0).plain.splitlines()
    assert lines[0].split() == ["last", "5", "s", "whole", "run"]
    p50 = lines[1].split(maxsplit=1)
    assert p50[0] == "p50"
    assert ms(window.p50) in p50[1] and ms(total.p50) in p50[1]
    assert lines[-1].split() == ["n", "40", "100"]


def test_histogram_counts_every_sample_in_equal_width_bins() -> None:
    values = sorted([0.010, 0.011, 0.011, 0.012, 0.019, 0.020])
    counted = histogram_of_sorted(values, 5)
    assert (counted.low, counted.high) == (0.010, 0.020)
    # bins of 2 ms from 10 ms: [10,12) [12,14) [14,16) [16,18) [18,20]
    assert counted.counts == (3, 1, 0, 0, 2)
    assert histogram_of_sorted([0.01] * 5, 4).counts == (5, 0, 0, 0)
    big = histogram_of_sorted(sorted(LATENCIES), 120)
    assert sum(big.counts) == len(LATENCIES) and len(big.counts) == 120


def test_histogram_columns_merge_whole_groups_of_bins() -> None:
    counted = histogram_of_sorted(sorted(LATENCIES), 120)
    merged = columns(counted, 45)  # groups of 3 bins: 40 columns
    assert len(merged) == 40 and sum(merged) == len(LATENCIES)
    assert merged[0] == sum(counted.counts[:3])
    assert columns(counted, 200) == list(counted.counts)
    drawn = render_histogram(counted, 45, 4).plain.splitlines()
    assert len(drawn) == 4
    assert drawn[-1].startswith(ms(counted.low)) and drawn[-1].endswith(ms(counted.high))
    tallest = max(range(40), key=lambda i: merged[i])
    assert drawn[0][tallest] == "█"  # the fullest column reaches the top row


def test_trend_keeps_one_cell_per_point_newest_on_the_right() -> None:
    line = trend_line([1.0, 2.0, 4.0], 6).plain
    assert line == "   ▂▄█"
    assert trend_line(range(100), 10).plain[-1] == "█"
    assert len(trend_line(range(100), 10).plain) == 10
    assert trend_line([50.0], 3, fixed=(0, 100)).plain == "  ▄"
    steady = trend_line([5.0, 5.0], 4).plain
    assert steady[-2:] == "▄▄"  # a steady value sits mid-height
    labelled = trend_line([20.0, 24.0], 20, label=lambda v: f"{v:.1f}").plain
    assert labelled.endswith(" 20.0–24.0") and len(labelled) == 20


def test_every_status_has_words() -> None:
    for status in Status:
        words = status_words(status.value)
        assert words == STATUS_WORDS[status.value]
        assert words != status.value or status.value == "ok"
    assert status_words(None) == "running"


def test_header_shows_progress_and_time_left() -> None:
    shot = snapshot(0.6)
    assert shot.time_left_s == pytest.approx(4.0)
    text = header_text(LiveRun(RunSpec(), shot), 100).plain
    assert "measuring" in text and "60 %" in text and "4.0 s left" in text
    narrow = header_text(LiveRun(RunSpec(), shot), 60).plain.splitlines()
    assert all(len(line) <= 60 for line in narrow)
    assert "No run yet" in header_text(None, 80).plain


def test_describe_spec_names_the_optimizations() -> None:
    spec = RunSpec(dtype="bf16", int8="dynamic", compile="default", token_budget=4096)
    line = describe_spec(spec)
    assert "bf16" in line and "int8 dynamic" in line and "compile default" in line
    assert "budget 4096 tok" in line


def test_device_panel_text_for_gpu_neuron_and_host() -> None:
    gpu = gpu_text(gpu_sample(), 100).plain
    for part in ("GPU0", "H100", "87 %", "31.0/80.0 GB", "512 / 700 W", "61 °C", "SM 1,980 MHz"):
        assert part in gpu
    neuron = neuron_text(neuron_sample(), 100).plain
    for part in (
        "NC0",
        "78 %",
        "NC1",
        "64 %",
        "tensors 2.4 GB",
        "scratchpad 1.0 GB",
        "inf2.xlarge",
    ):
        assert part in neuron
    host = host_text(host_sample(), 100).plain
    assert "52 %" in host and "12.0/32.0 GB" in host and "92%" in host


@pytest.mark.parametrize("width", [36, 56])
def test_compact_device_panel_is_one_line_per_device(width: int) -> None:
    card = HpuSample(index=1, utilization_pct=40.0, memory_used_bytes=3 * 10**9, power_w=300.0)
    sample = TelemetrySample(
        t=0.0, host=host_sample(), gpus=(gpu_sample(),), neuron=neuron_sample(), hpus=(card,)
    )
    lines = devices_text(sample, width, compact=True).plain.splitlines()
    assert [line.split()[0] for line in lines] == ["GPU0", "Neuron", "Gaudi1", "CPU", "mem"]
    assert all(len(line) <= width for line in lines)
    gpu, neuron, gaudi, cpu, memory = lines
    assert "87 %" in gpu and "31.0/80.0 GB" in gpu
    assert "71 % of 2 NC" in neuron  # the mean of 78 % and 64 %
    assert "40 %" in gaudi
    assert "52 %" in cpu and cpu.endswith("▇▃▁▆")  # a shade per core: 92, 35, 12, 71 %
    assert memory.endswith("12.0/32.0 GB")
    if width >= 56:  # the figures that fit a wider panel
        assert "512 W · 61 °C" in gpu


def test_compact_device_panel_puts_many_cores_under_the_cpu_line() -> None:
    host = dataclasses.replace(host_sample(), cpu_percent_per_core=(50.0,) * 96)
    lines = devices_text(TelemetrySample(t=0.0, host=host), 40, compact=True).plain.splitlines()
    assert lines[0].startswith("CPU") and "▄" not in lines[0]
    assert "".join(lines[1:-1]).replace(" ", "") == "▄" * 96
    assert all(len(line) <= 40 for line in lines) and lines[-1].startswith("mem")


def test_memory_panel_uses_the_gpus_of_the_run() -> None:
    shot = snapshot(kind="cuda", device="cuda:0")
    text = memory_text(shot, RunSpec(device="cuda:0"), 60).plain
    assert "GPU0" in text and "31.0/80.0 GB" in text and "peak 1.2 GB" in text
    cpu = memory_text(snapshot(), RunSpec(), 60).plain
    assert "host" in cpu and "no device allocator" in cpu


def test_form_values_become_a_run_spec() -> None:
    values = {
        **form_values(RunSpec(), MeasureOptions()),
        "batching": "budget",
        "batch-value": "2048",
        "workload": "lengths",
        "workload-value": "uniform:50-100",
        widget_id("duration_s"): "1.5",
        widget_id("warmup"): "1",
        widget_id("min_iters"): "3",
    }
    spec = spec_from_form(RunSpec(), values)
    assert spec.token_budget == 2048 and spec.lengths == "uniform:50-100" and spec.seq_len is None
    assert spec.duration_s == 1.5 and spec.min_iters == 3 and spec.warmup == 1
    assert not spec.packing
    packed = spec_from_form(RunSpec(), {**values, "batching": "packed"})
    assert packed.packing and packed.token_budget == 2048 and packed.batching == "packed"
    with pytest.raises(InvalidInputError, match="runs on packed rows: add --packing"):
        spec_from_form(RunSpec(), {**values, widget_id("attention"): "varlen"})
    with pytest.raises(InvalidInputError, match="batch size must be a whole number"):
        spec_from_form(RunSpec(), {**values, "batching": "batch", "batch-value": "x"})
    with pytest.raises(InvalidInputError, match="batch size must be greater than 0"):
        spec_from_form(RunSpec(), {**values, "batching": "batch", "batch-value": "0"})
    with pytest.raises(InvalidInputError, match="give a length distribution"):
        spec_from_form(RunSpec(), {**values, "workload-value": " "})


def test_pick_device_prefers_the_detected_best() -> None:
    assert pick_device(["cpu", "cuda:0", "cuda:1"], "cuda") == "cuda:0"
    assert pick_device(["cpu", "neuron"], "neuron") == "neuron"
    assert pick_device(["cpu"], "cuda") == "cpu"


def test_compare_cells_carry_ratios_to_the_baseline() -> None:
    assert ratio(2.0, 4.0) == 0.5
    assert ratio(None, 4.0) is None and ratio(1.0, 0) is None
    faster = compare_cell("p50_ms", 10.0, 20.0, is_baseline=False)
    assert faster.plain == "10.00  ×0.50"
    assert "green" in str(faster.spans[-1].style)
    slower = compare_cell("sequences_per_s", 50.0, 100.0, is_baseline=False)
    assert slower.plain.endswith("×0.50") and "red" in str(slower.spans[-1].style)
    assert compare_cell("status", "oom", "ok", False).plain == "out of memory"


def test_printed_runs_table_on_exit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tui_fakes import result

    from tui.commands.interactive import print_runs

    console = Console(record=True, width=80)
    stopped = result(RunSpec(), "interrupted", run_id="c")
    print_runs(
        console,
        [result(RunSpec()), result(RunSpec(), "oom", run_id="b", message="no memory"), stopped],
        tmp_path,
    )
    text = console.export_text()
    assert "plmprof runs" in text and "out of memory" in text and "#2 oom: no memory" in text
    # short status words: a stopped run's status takes one line at 80 columns, not four
    assert any(line.rstrip().endswith("stopped early") for line in text.splitlines())
    assert format_value(summary(LATENCIES).p50 * 1000) in text
    assert str(tmp_path.resolve()) in text


def test_the_run_summary_prints_each_note_its_rows_do_not_say() -> None:
    from tui_fakes import result

    from engines.allocator import PINNED_NOTE
    from tui.render.summary import result_table

    run = result(RunSpec(memory_limit_mb=600))
    run.notes = [
        f"{PINNED_NOTE} (so what fits repeats); speed may be lower than without --memory-limit",
        "power: no power reading on this host",
        "cost: no price known (pass --price-per-hour or --instance-type)",
        "contended: other processes kept 1.2 of 2 cores busy; latencies may be inflated",
    ]
    console = Console(record=True, width=200)
    console.print(result_table(run))
    notes = [
        line.split("note", 1)[1].strip()
        for line in console.export_text().splitlines()
        if line.strip().startswith("note ")
    ]
    assert notes == run.notes[:3]  # the machine row already says the last


@pytest.mark.parametrize("module", ["tui.worker_log", "tui.commands.interactive", "tui.app"])
def test_no_device_runtime_is_loaded_on_import(module: str) -> None:
    """A spawned worker imports the first before pinning its device; the app is on screen
    before torch has loaded (the first check and the device detection load it in threads)."""
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_memory_after_the_run_shows_no_zero_rss_and_the_devices_panel_sample() -> None:
    ended = snapshot(phase="done", status="interrupted")
    later = host_sample()
    later = dataclasses.replace(later, memory_used_bytes=later.memory_used_bytes // 2)
    text = memory_text(ended, RunSpec(), 37, TelemetrySample(t=200.0, host=later)).plain
    assert "0 B" not in text and "workers ended" in text
    host_memory = size_pair(later.memory_used_bytes, later.memory_total_bytes)
    assert host_memory in text and host_memory in host_text(later, 80).plain
    assert all(len(line) <= 37 for line in text.splitlines())


def test_runs_table_puts_key_figures_before_long_text() -> None:
    from tui.widgets.runs_table import SHOWN

    for figure in ("p50_ms", "p99_ms", "sequences_per_s"):
        assert SHOWN.index(figure) < SHOWN.index("message") < SHOWN.index("optimizations")


@pytest.mark.parametrize(
    ("text", "prune", "layers", "heads"),
    [
        ("none", "none", 0, 0),
        ("layers:2", "none", 2, 0),
        ("2:4 layers:2", "2:4", 2, 0),
        ("unstructured:0.5, heads:1", "unstructured:0.5", 0, 1),
    ],
)
def test_the_pruning_box_takes_layer_and_head_pruning(
    text: str, prune: str, layers: int, heads: int
) -> None:
    row = COMPOUND_ROWS["prune"]
    spec = RunSpec().replace(**row.read({"prune": text}))
    assert (spec.prune, spec.prune_layers, spec.prune_heads) == (prune, layers, heads)
    shown = row.show(spec, MeasureOptions())
    assert row.read(shown) == row.read({"prune": text})  # the form shows it back
    with pytest.raises(InvalidInputError, match="one weight scheme at a time"):
        row.read({"prune": "2:4 unstructured:0.5"})
    with pytest.raises(InvalidInputError, match="prune layers must be a whole number"):
        row.read({"prune": "layers:two"})
