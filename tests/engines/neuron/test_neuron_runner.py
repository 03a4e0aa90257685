"""The whole worker run path on Neuron, in-process, with torch_neuronx replaced by the STAND-IN."""

from __future__ import annotations

import sys
from types import ModuleType

import pytest
from neuron_helpers import neuron_spec

from engines.messages import (
    BatchDone,
    Compiled,
    Compiling,
    Failed,
    Finished,
    Loaded,
    Memory,
    Phase,
    Status,
    WarmedUp,
    WorkerMessage,
    WorkerTask,
)
from engines.runner import run_worker
from engines.spec import RunSpec
from tests.tiny_models import of_type


def run(spec: RunSpec, device: str = "neuron") -> list[WorkerMessage]:
    sent: list[WorkerMessage] = []
    run_worker(WorkerTask(spec.to_dict(), 0, device, {}), sent.append, lambda: False)
    return sent


def test_neuron_worker_compiles_every_bucket_then_measures(
    standin_installed: ModuleType, tiny_catalog: str
) -> None:
    messages = run(neuron_spec(model=tiny_catalog, min_iters=4))
    kinds = [type(m).__name__ for m in messages]
    assert kinds[-1] == "Finished", kinds
    startup = [m.name for m in messages if isinstance(m, Phase)]
    assert startup == ["planning", "building", "optimizing", "compiling", "warming"]
    assert next(k for k in kinds if k != "Phase") == "Loaded", kinds
    assert of_type(messages, Finished)[0].status is Status.OK

    loaded: Loaded = of_type(messages, Loaded)[0]
    assert loaded.device_name == "AWS NeuronCore (inf2)"
    assert loaded.device_allocated_bytes is None
    assert any(n.startswith("Neuron buckets (default") for n in loaded.notes)
    assert any("--auto-cast none" in n for n in loaded.notes)
    shapes = sorted({(b.rows, b.padded_len) for b in loaded.batches})
    assert len(shapes) == 2 and all(rows == 2 for rows, _ in shapes)

    # Compiling per bucket, then Compiled, all before warm-up.
    compiling = of_type(messages, Compiling)
    compiled = of_type(messages, Compiled)
    assert [(c.done, c.total) for c in compiling] == [(0, 2), (1, 2), (1, 2), (2, 2)]
    assert len(compiled) == 1 and compiled[0].recompilations == 0 and compiled[0].seconds > 0
    assert kinds.index("Compiled") < kinds.index("WarmedUp")
    assert sorted(c["shape"] for c in standin_installed.TRACE_CALLS) == shapes

    assert len(of_type(messages, WarmedUp)) == 1
    assert len(of_type(messages, BatchDone)) == 4  # max_iters
    memory = of_type(messages, Memory)[-1]
    assert memory.device_max_allocated_bytes is None and memory.rss_peak_bytes > 0


def test_catalog_model_runs_and_a_second_run_loads_from_the_cache(
    standin_installed: ModuleType,
) -> None:
    messages = run(neuron_spec(lengths="fixed:30"))  # the real esm2_t6_8M architecture
    assert of_type(messages, Finished)[0].status is Status.OK
    traces = len(standin_installed.TRACE_CALLS)
    assert traces == 1
    messages = run(neuron_spec(lengths="fixed:30"))
    assert len(standin_installed.TRACE_CALLS) == traces
    assert "from cache" in of_type(messages, Compiling)[-1].stage
    assert of_type(messages, Finished)[0].status is Status.OK


def test_a_bucketing_mistake_fails_the_run(
    standin_installed: ModuleType, tiny_catalog: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engines.backends.neuron.engine as engine

    real = engine.trace_inputs

    def one_token_short(ids, mask, rows):  # type: ignore[no-untyped-def]
        example_ids, example_mask = real(ids, mask, rows)
        return example_ids[:, :-1], example_mask[:, :-1]

    monkeypatch.setattr(engine, "trace_inputs", one_token_short)
    messages = run(neuron_spec(model=tiny_catalog, lengths="fixed:30"))
    failed = of_type(messages, Failed)
    assert len(failed) == 1 and not of_type(messages, BatchDone)
    assert failed[0].status is Status.ERROR
    assert failed[0].message == (
        "NeuronCallError: Neuron model call on 2x64 failed: builtins.RuntimeError: stand-in "
        "Neuron model: input shape differs from the traced shape 2x63"
    )


def test_int8_on_neuron_fails_as_unsupported(standin_installed: ModuleType) -> None:
    messages = run(neuron_spec(lengths="fixed:30", int8="dynamic"))
    failed = of_type(messages, Failed)[0]
    assert failed.status is Status.UNSUPPORTED
    assert failed.message.startswith("--int8 dynamic:") and "Neuron" in failed.message
    assert not standin_installed.TRACE_CALLS


def test_token_budget_on_neuron_fails_before_building(standin_installed: ModuleType) -> None:
    messages = run(neuron_spec(lengths="fixed:30", batch_size=8, token_budget=256))
    failed = of_type(messages, Failed)[0]
    assert failed.status is Status.UNSUPPORTED and "--token-budget" in failed.message
    assert not of_type(messages, Loaded)


def test_without_the_sdk_the_worker_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tiny_catalog: str
) -> None:
    monkeypatch.setitem(sys.modules, "torch_neuronx", None)
    messages = run(neuron_spec(model=tiny_catalog, lengths="fixed:30"))
    failed = of_type(messages, Failed)[0]
    assert failed.status is Status.UNSUPPORTED
    assert "pip.repos.neuron.amazonaws.com" in failed.message


def test_a_compiler_failure_ends_the_worker_with_one_message(
    standin_installed: ModuleType, tiny_catalog: str
) -> None:
    standin_installed.FAIL_WITH.append("Unsupported operator: aten::erf")
    messages = run(neuron_spec(model=tiny_catalog, lengths="fixed:30"))
    failed = of_type(messages, Failed)
    assert len(failed) == 1 and not of_type(messages, Finished)
    assert failed[0].status is Status.COMPILE_FAILED
    assert "Neuron compilation of bucket 2x64 failed: Unsupported operator" in failed[0].message
