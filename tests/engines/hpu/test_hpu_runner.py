"""The whole worker run path on a Gaudi, in-process, against the habana_frameworks STAND-IN.

The stand-in's device clock advances only in ``synchronize()`` and lazy work reaches the device
only at ``mark_step()``, so these latencies are exact: a batch of 2 x 32 tokens is 64 tokens of
simulated work, whatever the machine is doing."""

from __future__ import annotations

import pytest
from hpu_helpers import ImportBridge, hpu_spec, run_on_hpu

from engines.backends.hpu.device import HpuDevice
from engines.messages import (
    BatchDone,
    Compiled,
    Compiling,
    Failed,
    Finished,
    Loaded,
    Memory,
    Optimized,
    Status,
)
from tests.tiny_models import of_type

pytestmark = pytest.mark.hpu

TOKENS_PER_BATCH = 2 * 32  # batch 2, 30 residues + 2 special tokens


@pytest.mark.parametrize("mode", ["lazy", "eager"])
def test_every_batch_is_timed_after_the_device_finished_it(
    import_standin: ImportBridge, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    state = import_standin("1" if mode == "lazy" else "0").STATE
    messages = run_on_hpu(monkeypatch, hpu_spec(hpu_mode=mode))
    assert of_type(messages, Finished)[0].status is Status.OK, messages
    batches = of_type(messages, BatchDone)
    assert len(batches) == 4
    expected = TOKENS_PER_BATCH * 1e-5  # the stand-in's SECONDS_PER_TOKEN
    for batch in batches:
        assert batch.end - batch.start == pytest.approx(expected, rel=1e-9)
    assert (state.mark_steps > 0) is (mode == "lazy")


@pytest.mark.parametrize("skipped", ["mark_step", "synchronize"])
def test_a_timing_loop_that_skips_a_step_measures_nothing(
    import_standin: ImportBridge, monkeypatch: pytest.MonkeyPatch, skipped: str
) -> None:
    """The stand-in's contract, shown: without mark_step (lazy) or synchronize the clock reads
    no work at all, so a timing bug in HpuDevice cannot pass the test above."""
    import_standin("1")

    def incomplete(self: HpuDevice) -> None:
        assert self.bridge is not None
        if skipped == "synchronize":
            self.bridge.core.mark_step()
        else:
            self.bridge.hpu.synchronize()

    monkeypatch.setattr(HpuDevice, "synchronize", incomplete)
    messages = run_on_hpu(monkeypatch, hpu_spec())
    assert {b.end - b.start for b in of_type(messages, BatchDone)} == {0.0}


def test_lazy_run_reports_the_card_memory_and_graph_compilations(
    import_standin: ImportBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = import_standin("1").STATE
    messages = run_on_hpu(monkeypatch, hpu_spec(lengths="uniform:20-40", seq_len=None))
    assert of_type(messages, Finished)[0].status is Status.OK
    loaded: Loaded = of_type(messages, Loaded)[0]
    assert loaded.device_name == "GAUDI2"
    assert loaded.compute_units == ("hpu",)  # one card, not pinned to a module
    assert "Gaudi: lazy mode (PT_HPU_LAZY_MODE=1), mark_step before every synchronise" in (
        loaded.notes
    )
    shapes = {(b.rows, b.padded_len) for b in loaded.batches}
    assert len(shapes) > 1
    compiling = of_type(messages, Compiling)
    assert [(c.done, c.total) for c in compiling][-1] == (len(shapes), len(shapes))
    compiled: Compiled = of_type(messages, Compiled)[0]
    assert compiled.recompilations == len(shapes) == state.compilations

    report = of_type(messages, Optimized)[-1].report["hpu"]
    assert report["mode"] == "lazy"
    assert report["distinct_shapes"] == len(shapes)
    assert report["graph_compilations_warmup"] == len(shapes)
    assert report["graph_compilations_measured"] == 0
    assert report["memory_pool_bytes"] == 94 * 2**30
    assert any("distinct batch shapes" in note for note in report["notes"])

    memory: Memory = of_type(messages, Memory)[-1]
    assert memory.device_max_allocated_bytes == state.max_in_use > 0
    assert memory.device_max_reserved_bytes is None  # never the pre-reserved pool


def test_a_shape_first_seen_while_measuring_is_counted_and_flagged(
    import_standin: ImportBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_standin("1")
    import engines.backends.hpu.worker as hpu

    monkeypatch.setattr(hpu, "distinct_shapes", lambda items: list(items)[:1])
    spec = hpu_spec(lengths="uniform:20-40", seq_len=None, warmup=1, max_iters=8, min_iters=8)
    messages = run_on_hpu(monkeypatch, spec)
    report = of_type(messages, Optimized)[-1].report["hpu"]
    assert report["graph_compilations_measured"] >= 1
    assert any("during the measured loop" in note for note in report["notes"])


def test_hpu_graphs_capture_each_shape_once(
    import_standin: ImportBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = import_standin("1").STATE
    messages = run_on_hpu(monkeypatch, hpu_spec(hpu_graphs=True))
    assert of_type(messages, Finished)[0].status is Status.OK
    assert state.hpu_graph_captures == [(2, 32)]
    assert "Gaudi: model wrapped with wrap_in_hpu_graph (HPU graphs)" in (
        of_type(messages, Loaded)[0].notes
    )


# The stand-in simulates device work with global module hooks, which torch.compile warns about.
@pytest.mark.filterwarnings("ignore:Using `torch.compile\\(module\\)` when there are global hooks")
def test_eager_mode_compiles_with_the_hpu_backend(
    import_standin: ImportBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = import_standin("0").STATE
    messages = run_on_hpu(monkeypatch, hpu_spec(hpu_mode="eager", compile="default"))
    assert of_type(messages, Finished)[0].status is Status.OK, of_type(messages, Failed)
    report = of_type(messages, Optimized)[-1].report
    assert report["compile"]["backend"] == "hpu_backend"
    assert report["hpu"]["mode"] == "eager"
    assert state.compilations >= 1
    expected = TOKENS_PER_BATCH * 1e-5
    for batch in of_type(messages, BatchDone):
        assert batch.end - batch.start == pytest.approx(expected, rel=1e-9)


def test_bf16_autocast_runs(import_standin: ImportBridge, monkeypatch: pytest.MonkeyPatch) -> None:
    import_standin("1")
    messages = run_on_hpu(monkeypatch, hpu_spec(dtype="bf16", autocast=True))
    assert of_type(messages, Finished)[0].status is Status.OK
    precision = of_type(messages, Optimized)[-1].report["precision"]
    assert precision["autocast"] is True and precision["dtype"] == "bf16"


def test_a_worker_in_the_wrong_mode_refuses_to_run(
    import_standin: ImportBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_standin("1")  # imported lazy; the mode is read once, so setting 0 now changes nothing
    monkeypatch.setenv("PT_HPU_LAZY_MODE", "0")
    messages = run_on_hpu(monkeypatch, hpu_spec(hpu_mode="eager"))
    failed: Failed = of_type(messages, Failed)[0]
    assert failed.status is Status.UNSUPPORTED
    assert failed.message == (
        "the Gaudi bridge runs in lazy mode though PT_HPU_LAZY_MODE=0 was set: it was imported "
        "before the worker fixed the mode"
    )


def test_without_the_bridge_the_worker_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PT_HPU_LAZY_MODE", "1")
    messages = run_on_hpu(monkeypatch, hpu_spec())
    failed: Failed = of_type(messages, Failed)[0]
    assert failed.status is Status.UNSUPPORTED
    assert failed.message.startswith("the Gaudi PyTorch bridge is not importable (No module named")
    assert "docs.habana.ai" in failed.message
    assert not of_type(messages, Loaded)
