"""``plmprof compile``: buckets compiled ahead land where a later run finds them."""

from __future__ import annotations

import sys
from types import ModuleType

import pytest
from neuron_helpers import neuron_spec
from rich.console import Console

from engines.backends.neuron.precompile import precompile
from engines.messages import Compiling, Finished, Status, WorkerMessage, WorkerTask
from engines.runner import run_worker
from tui.cli import invoke
from tui.commands.compile_command import execute_compile


def test_precompile_then_run_traces_nothing_more(
    standin_installed: ModuleType, tiny_catalog: str
) -> None:
    spec = neuron_spec(model=tiny_catalog, prune_layers=1)
    report = precompile(spec, neuronx=standin_installed, cpu_backend=True)
    assert [o.cached for o in report.outcomes] == [False, False]
    assert all(call["cpu_backend"] for call in standin_installed.TRACE_CALLS)
    assert report.compiler_args[:2] == ["--target", "inf2"]
    assert report.spec.buckets == (64, 128)
    traces = len(standin_installed.TRACE_CALLS)

    sent: list[WorkerMessage] = []
    run_worker(WorkerTask(spec.to_dict(), 0, "neuron", {}), sent.append, lambda: False)
    finished = [m for m in sent if isinstance(m, Finished)]
    assert finished and finished[0].status is Status.OK
    assert len(standin_installed.TRACE_CALLS) == traces  # every bucket came from the cache
    stages = [m.stage for m in sent if isinstance(m, Compiling)]
    assert sum("from cache" in stage for stage in stages) == 2


def test_precompile_again_reports_cache_hits(
    standin_installed: ModuleType, tiny_catalog: str
) -> None:
    spec = neuron_spec(model=tiny_catalog, lengths="fixed:30")
    precompile(spec, neuronx=standin_installed, cpu_backend=True)
    again = precompile(spec, neuronx=standin_installed, cpu_backend=True)
    assert [o.cached for o in again.outcomes] == [True]


def test_compile_command_prints_a_table(standin_installed: ModuleType, tiny_catalog: str) -> None:
    out = Console(record=True, width=200)
    err = Console(record=True, width=200)
    spec = neuron_spec(model=tiny_catalog, lengths="fixed:30", dtype="bf16")
    assert execute_compile(spec, True, out, err) == 0
    table = out.export_text()
    assert "neuron_tiny_esm for inf2, bf16, optlevel 2" in table
    assert "2x64" in table and "compiled" in table
    assert "[0/1] bucket 2x64: compiling or loading" in err.export_text()


def test_compile_command_reports_a_compiler_failure_in_one_line(
    standin_installed: ModuleType, tiny_catalog: str
) -> None:
    standin_installed.FAIL_WITH.append("Estimated peak HBM usage exceeds 16GB")
    err = Console(record=True, width=300)
    spec = neuron_spec(model=tiny_catalog, lengths="fixed:30")
    assert execute_compile(spec, True, Console(record=True), err) == 1
    text = err.export_text()
    assert "compilation failed: Neuron compilation of bucket 2x64 failed" in text
    assert "Traceback" not in text


def test_cli_without_the_sdk_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "torch_neuronx", None)
    assert invoke(["compile", "--seq-len", "30", "--neuron-target", "trn1"]) == 2
    captured = capsys.readouterr()
    assert "torch-neuronx is not importable" in captured.err
    assert "Traceback" not in captured.err


def test_cli_rejects_a_bad_target_before_anything_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert invoke(["compile", "--neuron-target", "inf1"]) == 2
    assert "Neuron target 'inf1' is not one of inf2, trn1, trn1n, trn2" in capsys.readouterr().err


def test_sigterm_during_the_second_bucket_keeps_the_first_and_says_so(
    standin_installed: ModuleType, tiny_catalog: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import signal

    real_trace = standin_installed.trace

    def trace(*args: object, **kwargs: object) -> object:
        if len(standin_installed.TRACE_CALLS) == 1:  # the second bucket: as `kill` sends it
            os.kill(os.getpid(), signal.SIGTERM)
        return real_trace(*args, **kwargs)

    monkeypatch.setattr(standin_installed, "trace", trace)
    spec = neuron_spec(model=tiny_catalog)
    err = Console(record=True, width=300)
    assert execute_compile(spec, True, Console(record=True), err) == 128 + signal.SIGTERM
    text = err.export_text()
    assert "stopped: 1 of 2 buckets compiled; those are in the compile cache" in text
    assert "Traceback" not in text
    monkeypatch.setattr(standin_installed, "trace", real_trace)
    again = precompile(spec, neuronx=standin_installed, cpu_backend=True)
    assert [o.cached for o in again.outcomes] == [True, False]
