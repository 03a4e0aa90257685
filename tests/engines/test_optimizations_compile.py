"""torch.compile on CPU: compile time apart from latency, bucket shapes compiled in warm-up and
never again, and a failing compile reported as ``compile_failed``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from engines.inputs import plan_workload, to_tensors
from engines.messages import BatchDone, Compiled, Compiling, Failed, Status, WarmedUp
from engines.optimizations import compile as compile_step
from tests.tiny_models import register, result_of, run_in_process, tiny_esm, tiny_spec

BUCKETS = (32, 64)
BUCKETED = {
    "seq_len": None,
    "lengths": "uniform:10-60",
    "num_sequences": 12,
    "buckets": BUCKETS,
    "min_iters": 8,
}


def test_bucketed_batches_have_fixed_padded_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    register(monkeypatch)
    spec = tiny_spec(**BUCKETED)
    batches = to_tensors(plan_workload(spec, tiny_esm()), torch.device("cpu"))
    shapes = {tuple(b.input_ids.shape) for b in batches}
    assert shapes <= {(spec.batch_size, bound) for bound in BUCKETS}
    assert [tuple(b.input_ids.shape) for b in compile_step.distinct_shapes(batches)] == sorted(
        shapes, key=lambda s: s[1]
    )


def test_static_graphs_for_few_shapes_automatic_dynamic_for_many(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    register(monkeypatch)
    few = to_tensors(plan_workload(tiny_spec(**BUCKETED), tiny_esm()), torch.device("cpu"))
    state = compile_step.compile_state("default", few, torch.device("cpu"))
    assert state.dynamic is False and state.shapes == 2
    many_spec = tiny_spec(seq_len=None, lengths="uniform:10-200", num_sequences=40)
    many = to_tensors(plan_workload(many_spec, tiny_esm()), torch.device("cpu"))
    state = compile_step.compile_state("reduce-overhead", many, torch.device("cpu"))
    assert state.shapes > compile_step.STATIC_SHAPE_LIMIT and state.dynamic is None
    assert any("reduce-overhead" in note for note in state.notes)


def test_compile_with_buckets_compiles_in_warm_up_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = {**BUCKETED, "compile": "default"}
    messages = run_in_process(monkeypatch, **settings)
    assert not [m for m in messages if isinstance(m, Failed)], messages[-1]
    compiling = [m for m in messages if isinstance(m, Compiling)]
    assert [m.done for m in compiling] == [0, 1, 2] and compiling[0].total == 2
    compiled = [m for m in messages if isinstance(m, Compiled)]
    assert len(compiled) == 1  # nothing compiled after warm-up, so no second report
    kinds = [type(m) for m in messages]
    first_batch = kinds.index(BatchDone)
    assert kinds.index(Compiled) < kinds.index(WarmedUp) < first_batch
    seconds = compiled[0].seconds
    print(f"\ncompile (mode default, 2 bucket shapes, tiny ESM on CPU): {seconds:.1f} s")
    assert seconds > 0
    result = result_of(tiny_spec(**settings), messages)
    assert result.status == "ok"
    assert result.timing is not None
    assert result.timing["compile_s"] == seconds
    assert result.timing["recompilations"] == 1  # the second bucket's static graph
    assert result.model is not None
    report = result.model["optimizations"]["compile"]
    assert report["shapes"] == 2 and report["dynamic"] == "static per shape"
    assert report["recompilations_warmup"] == 1
    assert report["recompilations_measured"] == 0
    assert report["graph_breaks"] == 0
    assert result.latency is not None and result.latency["count"] >= 8


class _Exploding(nn.Module):
    def forward(self, **kwargs: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("inductor exploded while lowering")


def test_a_failing_compile_ends_the_run_as_compile_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(torch, "compile", lambda model, **kwargs: _Exploding())
    messages = run_in_process(monkeypatch, compile="default")
    failed = messages[-1]
    assert isinstance(failed, Failed)
    assert failed.status is Status.COMPILE_FAILED
    assert "torch.compile (mode default) failed on batch 2x32" in failed.message
    assert "inductor exploded" in failed.message
    assert not [m for m in messages if isinstance(m, BatchDone)]
