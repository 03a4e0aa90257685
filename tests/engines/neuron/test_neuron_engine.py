"""compile_buckets against the torch_neuronx STAND-IN: buckets, flags, cache, failures."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch
from neuron_helpers import neuron_spec, planned_batches, tiny_esm

from engines.backends.neuron.engine import compile_buckets
from engines.backends.neuron.sdk import AWS_PIP_REPOSITORY, import_torch_neuronx
from engines.backends.neuron.tracer import NeuronCompileError, TraceableEncoder
from engines.catalog import get_model_info
from engines.errors import UnsupportedError

INFO = get_model_info("esm2_t6_8M")


@pytest.fixture(autouse=True)
def device_present(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a Neuron host: trace without cpu_backend unless a test says otherwise."""
    monkeypatch.setattr(
        "engines.backends.neuron.engine.neuron_device_files", lambda: ["/dev/neuron0"]
    )


def test_one_trace_per_bucket_with_explicit_flags(standin: ModuleType) -> None:
    spec, batches = planned_batches(neuron_spec(dtype="bf16", neuron_target="trn1"))
    shapes = sorted({tuple(b.input_ids.shape) for b in batches})
    assert len(shapes) >= 2  # the workload spans several buckets
    prepared = compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin)
    assert prepared.seconds > 0
    assert sorted(call["shape"] for call in standin.TRACE_CALLS) == shapes
    for call in standin.TRACE_CALLS:
        assert call["compiler_args"] == [
            "--target",
            "trn1",
            "--model-type",
            "transformer",
            "--auto-cast",
            "matmult",
            "--auto-cast-type",
            "bf16",
            "--optlevel",
            "2",
        ]
        assert call["mask_has_padding"]  # the mask path is always compiled in
        assert call["cpu_backend"] is False and call["options"] == {}
        assert call["compiler_workdir"]
    assert any("2 ESM layer(s)" in n for n in prepared.notes)
    assert any("--auto-cast matmult --auto-cast-type bf16" in n for n in prepared.notes)


def test_bucketed_model_matches_the_cpu_model_on_every_batch(standin: ModuleType) -> None:
    spec, batches = planned_batches(neuron_spec())
    reference = tiny_esm()
    model = compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin).module
    for batch in batches:
        with torch.no_grad():
            expected = reference(
                input_ids=batch.input_ids, attention_mask=batch.attention_mask
            ).last_hidden_state
            got = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
        assert (got - expected).abs().max().item() < 1e-5


def test_second_preparation_loads_every_bucket_from_the_cache(
    standin: ModuleType, private_cache: Path
) -> None:
    spec, batches = planned_batches(neuron_spec())
    first = compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin)
    traces = len(standin.TRACE_CALLS)
    assert not any(o.cached for o in first.outcomes)
    assert all(o.path is not None and o.path.is_file() for o in first.outcomes)
    assert all(o.path is not None and private_cache in o.path.parents for o in first.outcomes)
    assert not (private_cache / "work").exists() or not any((private_cache / "work").iterdir())

    second = compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin)
    assert len(standin.TRACE_CALLS) == traces
    assert all(o.cached for o in second.outcomes)
    batch = batches[-1]
    with torch.no_grad():
        a = first.module(batch.input_ids, batch.attention_mask)
        b = second.module(batch.input_ids, batch.attention_mask)
    assert torch.equal(a, b)
    assert any(
        f"{len(second.outcomes)} from the compile cache, 0 compiled" in n for n in second.notes
    )


@pytest.mark.parametrize(
    "change",
    [{"dtype": "fp16"}, {"neuron_optlevel": 3}, {"neuron_target": "inf2", "seed": 1}],
)
def test_changed_settings_compile_again(standin: ModuleType, change: dict[str, object]) -> None:
    spec, batches = planned_batches(neuron_spec(lengths="fixed:30"))
    compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin)
    traces = len(standin.TRACE_CALLS)
    changed, batches = planned_batches(neuron_spec(lengths="fixed:30", **change))
    again = compile_buckets(tiny_esm(), INFO, changed, batches, neuronx=standin)
    assert not any(o.cached for o in again.outcomes)
    assert len(standin.TRACE_CALLS) == traces + len(again.outcomes)


def test_neuron_cc_flags_from_the_environment_change_the_key(
    standin: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, batches = planned_batches(neuron_spec(lengths="fixed:30"))
    compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin)
    monkeypatch.setenv("NEURON_CC_FLAGS", "--verbose info")
    again = compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin)
    assert not any(o.cached for o in again.outcomes)


def test_cache_can_be_turned_off(standin: ModuleType, private_cache: Path) -> None:
    spec, batches = planned_batches(neuron_spec(lengths="fixed:30"))
    prepared = compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin, use_cache=False)
    assert [o.path for o in prepared.outcomes] == [None]
    assert not private_cache.exists()
    assert any("cache off" in n for n in prepared.notes)


def test_progress_is_reported_per_bucket(standin: ModuleType) -> None:
    spec, batches = planned_batches(neuron_spec())
    assert len({tuple(b.input_ids.shape) for b in batches}) == 2
    seen: list[tuple[str, int, int]] = []
    compile_buckets(tiny_esm(), INFO, spec, batches, lambda *a: seen.append(a), neuronx=standin)
    total = len({tuple(b.input_ids.shape) for b in batches})
    assert [(done, all_) for _, done, all_ in seen] == [
        step for i in range(total) for step in ((i, total), (i + 1, total))
    ]
    assert seen[0][0].startswith("bucket 2x")
    assert "compiled in" in seen[1][0]


def test_cpu_backend_is_passed_only_when_compiling_without_a_device(standin: ModuleType) -> None:
    spec, batches = planned_batches(neuron_spec(lengths="fixed:30"))
    prepared = compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin, cpu_backend=True)
    assert standin.TRACE_CALLS[-1]["cpu_backend"] is True
    assert prepared.cpu_backend
    assert any("cpu_backend" in n for n in prepared.notes)


def test_without_a_device_cpu_backend_is_chosen(
    standin: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engines.backends.neuron.engine.neuron_device_files", lambda: [])
    spec, batches = planned_batches(neuron_spec(lengths="fixed:30"))
    compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin)
    assert standin.TRACE_CALLS[-1]["cpu_backend"] is True


def test_compiler_failure_is_one_clear_error(standin: ModuleType, private_cache: Path) -> None:
    spec, batches = planned_batches(neuron_spec(lengths="fixed:30"))
    standin.FAIL_WITH.append("Unsupported operator: erf\nlong compiler log ...")
    with pytest.raises(NeuronCompileError) as raised:
        compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin)
    message = str(raised.value)
    assert "Neuron compilation of bucket 2x64 failed: Unsupported operator: erf" in message
    assert "long compiler log" not in message
    assert "compiler work directory kept at" in message
    assert any((private_cache / "work").iterdir())


def test_compiler_out_of_memory_becomes_memory_error(standin: ModuleType) -> None:
    spec, batches = planned_batches(neuron_spec(lengths="fixed:30"))
    standin.FAIL_WITH.append("neuronx-cc: Out of memory while scheduling")
    with pytest.raises(MemoryError, match="compiling bucket 2x64"):
        compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin)


def test_int8_is_unsupported_and_unstructured_pruning_is_a_note(standin: ModuleType) -> None:
    spec, batches = planned_batches(neuron_spec(lengths="fixed:30"))
    with pytest.raises(UnsupportedError, match="--int8 dynamic: Neuron has no documented int8"):
        compile_buckets(tiny_esm(), INFO, spec.replace(int8="dynamic"), batches, neuronx=standin)
    notes = compile_buckets(
        tiny_esm(), INFO, spec.replace(prune="unstructured:0.5"), batches, neuronx=standin
    ).notes
    assert any("--prune unstructured:0.5 has no effect on speed on Neuron" in n for n in notes)


def test_structurally_pruned_model_compiles_under_its_own_key(standin: ModuleType) -> None:
    spec, batches = planned_batches(neuron_spec(lengths="fixed:30"))
    compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin)
    pruned = tiny_esm()
    del pruned.encoder.layer[1]  # what --prune-layers 1 does to the model
    prepared = compile_buckets(pruned, INFO, spec.replace(prune_layers=1), batches, neuronx=standin)
    assert not any(o.cached for o in prepared.outcomes)
    reference = TraceableEncoder(pruned)
    batch = batches[0]
    with torch.no_grad():
        expected = reference(batch.input_ids, batch.attention_mask)
        got = prepared.module(batch.input_ids, batch.attention_mask)
    assert (got - expected).abs().max().item() < 1e-5


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"compile": "default"}, "--compile default is torch.compile"),
        ({"attention": "flash_attention_2"}, "flash_attention_2 is a CUDA kernel"),
    ],
)
def test_settings_without_meaning_on_neuron(
    standin: ModuleType, change: dict[str, object], words: str
) -> None:
    spec, batches = planned_batches(neuron_spec(lengths="fixed:30"))
    with pytest.raises(UnsupportedError, match=words):
        compile_buckets(tiny_esm(), INFO, spec.replace(**change), batches, neuronx=standin)


def test_data_parallel_traces_a_per_core_batch(
    standin: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEURON_RT_VISIBLE_CORES", "0-1")
    spec, batches = planned_batches(
        neuron_spec(lengths="fixed:30", batch_size=4, neuron_data_parallel=True)
    )
    reference = tiny_esm()
    prepared = compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin, cpu_backend=False)
    assert {call["shape"][0] for call in standin.TRACE_CALLS} == {2}
    assert standin.DATA_PARALLEL_CALLS[0] == {
        "device_ids": None,
        "dim": 0,
        "set_dynamic_batching": False,
    }
    assert prepared.module.data_parallel
    for batch in batches:
        with torch.no_grad():
            expected = reference(
                input_ids=batch.input_ids, attention_mask=batch.attention_mask
            ).last_hidden_state
            got = prepared.module(batch.input_ids, batch.attention_mask)
        assert (got - expected).abs().max().item() < 1e-5


def test_data_parallel_needs_a_batch_that_divides_over_the_cores(
    standin: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEURON_RT_NUM_CORES", "2")
    spec, batches = planned_batches(neuron_spec(batch_size=3, neuron_data_parallel=True))
    with pytest.raises(UnsupportedError, match="multiple of 2 \\(got 3\\)"):
        compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin)


def test_data_parallel_without_a_core_count_says_what_to_set(
    standin: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engines.backends.neuron.sdk.neuron_device_files", lambda: [])
    spec, batches = planned_batches(neuron_spec(neuron_data_parallel=True))
    with pytest.raises(UnsupportedError, match="set NEURON_RT_VISIBLE_CORES"):
        compile_buckets(tiny_esm(), INFO, spec, batches, neuronx=standin)


def test_missing_sdk_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch_neuronx", None)  # import raises ImportError
    with pytest.raises(UnsupportedError) as raised:
        import_torch_neuronx()
    assert "DLAMI" in str(raised.value) and AWS_PIP_REPOSITORY in str(raised.value)
    spec, batches = planned_batches(neuron_spec(lengths="fixed:30"))
    with pytest.raises(UnsupportedError, match="torch-neuronx is not importable"):
        compile_buckets(tiny_esm(), INFO, spec, batches)
