from __future__ import annotations

import json
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from engines.errors import InvalidInputError
from profilers.telemetry import (
    MONITOR_CONFIG,
    LatencyPercentiles,
    NeuronCoreSample,
    NeuronMonitorSampler,
    NeuronSample,
    config_for_period,
    parse_report,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "neuron"
MONITOR = DATA / "neuron-monitor-inf2.xlarge.jsonl"
EDGE = DATA / "neuron-monitor-edge-cases.jsonl"


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()]


def _busy_core(index: int, utilization: float, flops: float) -> NeuronCoreSample:
    return NeuronCoreSample(
        index=index,
        utilization_pct=utilization,
        flops=flops,
        constants_bytes=196608,
        model_code_bytes=43450368,
        model_shared_scratchpad_bytes=0,
        runtime_memory_bytes=23658496,
        tensors_bytes=4194304,
        memory_total_bytes=71499776,
    )


# --- the fixtures ---------------------------------------------------------------------------


def test_fixture_files_hold_the_expected_reports() -> None:
    assert len(_lines(MONITOR)) == 2
    assert len(_lines(EDGE)) == 1


def test_busy_report() -> None:
    sample = parse_report(_lines(MONITOR)[0])
    assert sample.cores == (
        _busy_core(0, 88.73, 16_240_000_000_000.0),
        _busy_core(1, 87.9, 16_077_600_000_000.0),
    )
    assert sample.runtime_pids == (4121,)
    assert sample.period_s == 1.000204
    assert sample.executions_completed == 812
    assert sample.executions_failed == 0
    assert sample.execution_errors == 0
    assert sample.total_latency == LatencyPercentiles(
        p0=0.00118, p1=0.00119, p25=0.00121, p50=0.00122, p75=0.00124, p99=0.00131, p100=0.00167
    )
    assert sample.device_latency == LatencyPercentiles(
        p0=0.00109, p1=0.0011, p25=0.00111, p50=0.00112, p75=0.00113, p99=0.00119, p100=0.00151
    )
    assert sample.runtime_host_memory_bytes == 1173315584
    assert sample.runtime_device_memory_bytes == 142999552
    assert sample.host_application_memory_bytes == 1120583680
    assert sample.host_constants_bytes == 0
    assert sample.host_dma_buffers_bytes == 52731904
    assert sample.host_tensors_bytes == 0
    assert sample.runtime_vcpu_user_pct == 24.1
    assert sample.runtime_vcpu_system_pct == 3.6
    assert sample.system_memory_total_bytes == 16439840768
    assert sample.system_memory_used_bytes == 3518926848
    assert sample.system_vcpu_user_pct == 26.4
    assert sample.system_vcpu_system_pct == 4.1
    assert sample.ecc_uncorrected == 0
    assert sample.instance_type == "inf2.xlarge"
    assert sample.device_type == "inferentia2"
    assert sample.device_version == "v3"
    assert sample.neuroncore_version == "v2"
    assert sample.device_count == 1
    assert sample.device_memory_bytes == 34359738368
    assert sample.cores_per_device == 2
    assert sample.errors == ()


def test_busy_report_utilisation_about_88_percent() -> None:
    sample = parse_report(_lines(MONITOR)[0])
    utilisations = [core.utilization_pct for core in sample.cores]
    assert all(value is not None and 87.0 <= value <= 89.0 for value in utilisations)


def test_per_core_memory_sums_to_the_runtime_device_total() -> None:
    for line in _lines(MONITOR) + _lines(EDGE):
        sample = parse_report(line)
        per_core = [core.memory_total_bytes for core in sample.cores]
        assert None not in per_core
        assert sum(value for value in per_core if value is not None) == (
            sample.runtime_device_memory_bytes
        )
        assert sample.runtime_device_memory_bytes == 142999552


def test_idle_report() -> None:
    sample = parse_report(_lines(MONITOR)[1])
    assert sample.total_latency is None
    assert sample.device_latency is None
    assert sample.executions_completed == 0
    assert [core.utilization_pct for core in sample.cores] == [0.0, 0.0]
    assert [core.flops for core in sample.cores] == [0.0, 0.0]
    assert sample.errors == ()


def test_edge_case_report() -> None:
    sample = parse_report(_lines(EDGE)[0])
    assert [core.flops for core in sample.cores] == [12e12, 11e12]  # effective_flops
    assert [core.utilization_pct for core in sample.cores] == [73.5, 70.25]
    assert sample.runtime_vcpu_user_pct is None
    assert sample.runtime_vcpu_system_pct is None
    assert sample.system_memory_total_bytes is None
    assert sample.system_memory_used_bytes is None
    assert sample.errors == (
        "neuron_runtime_data[4121].neuron_runtime_vcpu_usage",
        "system_data.memory_info",
    )
    # groups without an error are still read
    assert sample.executions_completed == 812
    assert sample.system_vcpu_user_pct == 26.4
    assert sample.instance_type == "inf2.xlarge"


def test_accepts_a_decoded_object() -> None:
    line = _lines(MONITOR)[0]
    assert parse_report(json.loads(line)) == parse_report(line)
    assert parse_report(line.encode()) == parse_report(line)


# --- edge cases -----------------------------------------------------------------------------


def test_empty_object() -> None:
    assert parse_report("{}") == NeuronSample()


@pytest.mark.parametrize("line", ["", "not json", '{"truncated": ', "[1, 2]", "42", "null"])
def test_garbage_line_raises_invalid_input(line: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_report(line)


def test_missing_groups() -> None:
    report = {
        "neuron_runtime_data": [
            {"pid": 7, "error": "", "report": {"neuroncore_counters": {"error": ""}}},
        ],
        "system_data": {},
    }
    sample = parse_report(report)
    assert sample == NeuronSample(runtime_pids=(7,))


def test_wrong_types_read_as_not_available() -> None:
    report = {
        "neuron_runtime_data": [
            "not a runtime",
            {
                "pid": "8",
                "report": {
                    "neuroncore_counters": {
                        "period": "1.5",
                        "neuroncores_in_use": {
                            "0": {"neuroncore_utilization": "n/a", "flops": True},
                            "x": {"neuroncore_utilization": 50},
                            "1": "busy",
                        },
                    },
                    "memory_used": {"neuron_runtime_used_bytes": []},
                    "execution_stats": {"latency_stats": None, "execution_summary": "none"},
                },
            },
        ],
        "system_data": [],
        "instance_info": "inf2",
        "neuron_hardware_info": {"neuron_device_count": "two", "neuron_device_type": 5},
    }
    sample = parse_report(report)
    assert sample.runtime_pids == (8,)
    assert sample.period_s == 1.5
    assert sample.cores == (NeuronCoreSample(index=0),)
    assert sample.total_latency is None
    assert sample.executions_completed is None
    assert sample.device_count is None
    assert sample.device_type is None
    assert sample.errors == ()


def test_two_runtimes_listing_the_same_core() -> None:
    def runtime(pid: int, cores: dict[str, Any], memory: dict[str, Any], completed: int) -> Any:
        return {
            "pid": pid,
            "error": "",
            "report": {
                "neuroncore_counters": {"error": "", "period": 1.0, "neuroncores_in_use": cores},
                "memory_used": {
                    "error": "",
                    "neuron_runtime_used_bytes": {
                        "host": 100,
                        "neuron_device": sum(sum(m.values()) for m in memory.values()),
                        "usage_breakdown": {"neuroncore_memory_usage": memory},
                    },
                },
                "execution_stats": {
                    "error": "",
                    "execution_summary": {"completed": completed, "timed_out": 1},
                    "error_summary": {"generic": 2, "hardware": 1},
                    "latency_stats": {
                        "total_latency": {"p50": completed / 1000.0},
                        "device_latency": None,
                    },
                },
                "neuron_runtime_vcpu_usage": {"error": "", "vcpu_usage": {"user": 10.0}},
            },
        }

    report = {
        "neuron_runtime_data": [
            runtime(
                1,
                {"0": {"neuroncore_utilization": 90.0, "flops": 1000}},
                {"0": {"tensors": 10, "model_code": 20}},
                completed=50,
            ),
            runtime(
                2,
                {
                    "0": {"neuroncore_utilization": 30.0, "flops": 0},  # also runtime 1: max wins
                    "1": {"neuroncore_utilization": 40.0, "effective_flops": 500},
                },
                {"0": {"tensors": 5}, "1": {"tensors": 7, "constants": 3}},
                completed=80,
            ),
        ]
    }
    sample = parse_report(report)
    assert sample.cores == (
        NeuronCoreSample(
            index=0,
            utilization_pct=90.0,
            flops=1000.0,
            tensors_bytes=15,
            model_code_bytes=20,
            memory_total_bytes=35,
        ),
        NeuronCoreSample(
            index=1,
            utilization_pct=40.0,
            flops=500.0,
            tensors_bytes=7,
            constants_bytes=3,
            memory_total_bytes=10,
        ),
    )
    assert sample.runtime_pids == (1, 2)
    assert sample.runtime_host_memory_bytes == 200
    assert sample.runtime_device_memory_bytes == 45
    assert sample.executions_completed == 130
    assert sample.executions_failed == 2
    assert sample.execution_errors == 6
    assert sample.runtime_vcpu_user_pct == 20.0
    assert sample.runtime_vcpu_system_pct is None
    # percentiles cannot be merged: they come from the runtime that completed the most
    assert sample.total_latency == LatencyPercentiles(p50=0.08)
    assert sample.device_latency is None

    only_first = parse_report(report, pids={1})
    assert only_first.runtime_pids == (1,)
    assert [core.index for core in only_first.cores] == [0]
    assert only_first.total_latency == LatencyPercentiles(p50=0.05)


def test_runtime_with_an_error_is_skipped() -> None:
    report = {
        "neuron_runtime_data": [
            {"pid": 9, "error": "connection refused", "report": {"memory_used": {"error": ""}}},
            {"error": "lost", "report": {}},
        ],
        "instance_info": {"error": "no IMDS", "instance_type": "inf2.xlarge"},
        "neuron_hardware_info": {"error": "   "},
    }
    sample = parse_report(report)
    assert sample.runtime_pids == ()
    assert sample.instance_type is None
    assert sample.errors == (
        "neuron_runtime_data[9]",
        "neuron_runtime_data[#1]",
        "instance_info",
    )


def test_monitor_config_matches_the_reference() -> None:
    assert MONITOR_CONFIG == {
        "period": "1s",
        "neuron_runtimes": [
            {
                "tag_filter": ".*",
                "metrics": [
                    {"type": "neuroncore_counters"},
                    {"type": "memory_used"},
                    {"type": "neuron_runtime_vcpu_usage"},
                    {"type": "execution_stats"},
                ],
            }
        ],
        "system_metrics": [
            {"type": "vcpu_usage"},
            {"type": "memory_info"},
            {"type": "neuron_hw_counters"},
        ],
    }


@pytest.mark.parametrize(("period", "text"), [(1.0, "1s"), (2, "2s"), (0.5, "500ms"), (0.0, "1ms")])
def test_config_for_period(period: float, text: str) -> None:
    config = config_for_period(period)
    assert config["period"] == text
    assert config["neuron_runtimes"] == MONITOR_CONFIG["neuron_runtimes"]
    assert MONITOR_CONFIG["period"] == "1s"  # the constant is left alone


# --- the sampler: replay --------------------------------------------------------------------


def test_replay_holds_the_last_report() -> None:
    sampler = NeuronMonitorSampler.replay(MONITOR)
    assert sampler.is_replay
    assert sampler.available
    assert sampler.reason is None
    completed = []
    for _ in range(4):
        sample = sampler.sample()
        assert sample is not None
        completed.append(sample.executions_completed)
    assert completed == [812, 0, 0, 0]
    assert sampler.lines_read == 2
    assert sampler.malformed_lines == 0


def test_replay_cycles() -> None:
    sampler = NeuronMonitorSampler.replay(MONITOR, cycle=True)
    completed = [getattr(sampler.sample(), "executions_completed", None) for _ in range(5)]
    assert completed == [812, 0, 812, 0, 812]


def test_replay_skips_and_counts_malformed_lines(tmp_path: Path) -> None:
    lines = _lines(MONITOR)
    path = tmp_path / "capture.jsonl"
    path.write_text(f"{lines[0]}\n\nnot json at all\n{lines[1][:40]}\n[]\n{lines[1]}\n")
    sampler = NeuronMonitorSampler.replay(path)
    assert sampler.lines_read == 5
    assert sampler.malformed_lines == 3
    first, second = sampler.sample(), sampler.sample()
    assert first is not None and first.executions_completed == 812
    assert second is not None and second.executions_completed == 0


def test_replay_missing_file(tmp_path: Path) -> None:
    sampler = NeuronMonitorSampler.replay(tmp_path / "nope.jsonl")
    assert not sampler.available
    assert sampler.reason is not None
    assert sampler.reason.startswith("neuron-monitor replay file not readable: ")
    assert sampler.sample() is None


def test_replay_file_without_reports(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("garbage\n")
    sampler = NeuronMonitorSampler.replay(path)
    assert not sampler.available
    assert sampler.reason == f"neuron-monitor replay file holds no report: {path}"
    assert sampler.sample() is None
    assert sampler.malformed_lines == 1


def test_replay_filters_pids() -> None:
    sampler = NeuronMonitorSampler.replay(MONITOR, pids={1})
    sample = sampler.sample()
    assert sample is not None
    assert sample.runtime_pids == ()
    assert sample.cores == ()
    assert sample.instance_type == "inf2.xlarge"


# --- the sampler: a live (fake) neuron-monitor ----------------------------------------------


def _fake_tool(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-neuron-monitor"
    script.write_text(f"#!{sys.executable}\n{body}")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def _wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_live_sampler_reads_lines_and_terminates_the_tool(tmp_path: Path) -> None:
    record = tmp_path / "invocation.json"
    script = _fake_tool(
        tmp_path,
        "import json, sys, time\n"
        f"json.dump({{'argv': sys.argv[1:], 'config': json.load(open(sys.argv[2]))}}, "
        f"open({str(record)!r}, 'w'))\n"
        "print('not json', flush=True)\n"
        f"for line in open({str(MONITOR)!r}):\n"
        "    print(line.strip(), flush=True)\n"
        "time.sleep(60)\n",
    )
    sampler = NeuronMonitorSampler(period_s=0.5, executable=str(script))
    assert sampler.available
    assert sampler.reason is None
    first = sampler.sample()  # starts the tool; nothing read yet or the first lines
    assert first is None or isinstance(first, NeuronSample)
    _wait_for(lambda: sampler.lines_read == 3)
    latest = sampler.sample()
    assert latest is not None
    assert latest.executions_completed == 0  # the last line is the idle report
    assert sampler.malformed_lines == 1
    invocation = json.loads(record.read_text())
    assert invocation["argv"][0] == "-c"
    assert invocation["config"] == config_for_period(0.5)
    process = sampler._process
    assert process is not None and process.poll() is None
    sampler.close()
    assert process.poll() is not None
    assert sampler.sample() is None
    assert not sampler.available
    sampler.close()  # twice is fine


def test_live_sampler_reports_the_tool_exiting(tmp_path: Path) -> None:
    script = _fake_tool(
        tmp_path,
        "import sys\n"
        f"print(open({str(MONITOR)!r}).readline().strip(), flush=True)\n"
        "print('config rejected', file=sys.stderr)\n"
        "sys.exit(3)\n",
    )
    with NeuronMonitorSampler(executable=str(script)) as sampler:
        sampler.start()
        _wait_for(lambda: sampler.reason is not None)
        assert sampler.reason == f"{script} exited with code 3: config rejected"
        assert sampler.sample() is None
        assert not sampler.available
        assert sampler.lines_read == 1


def test_tool_not_on_path() -> None:
    sampler = NeuronMonitorSampler(executable="plmprof-no-such-neuron-monitor")
    assert not sampler.available
    assert sampler.reason == "plmprof-no-such-neuron-monitor not found on PATH"
    assert sampler.sample() is None
    assert sampler.reason == "plmprof-no-such-neuron-monitor not found on PATH"
    sampler.close()


def test_default_tool_missing_on_this_machine() -> None:
    sampler = NeuronMonitorSampler()
    if sampler.available:
        pytest.skip("neuron-monitor is installed here")
    assert sampler.reason == "neuron-monitor not found on PATH"
