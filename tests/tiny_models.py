"""Tiny catalog entries for fast CPU tests: the real architectures with toy sizes.

``register(monkeypatch)`` adds them to the catalog for one test, so a ``RunSpec`` can name them and
the worker loop can run them in-process.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from engines.catalog import MODELS, ModelInfo
from engines.messages import WorkerMessage, WorkerTask
from engines.spec import RunSpec
from profilers.collector import RunCollector
from profilers.finalize import RunClock, build_result
from profilers.options import MeasureOptions
from profilers.result import Result

LAYERS = 2
HIDDEN = 64
HEADS = 4
FFN = 128


# An encoder's toy sizes under the names BERT-style configs (ESM, ProtBERT, ProtST) use.
ENCODER_SIZES: dict[str, Any] = {
    "num_hidden_layers": LAYERS,
    "hidden_size": HIDDEN,
    "num_attention_heads": HEADS,
    "intermediate_size": FFN,
}


def shrunk(base_id: str, new_id: str, **config: Any) -> ModelInfo:
    """Catalog entry ``base_id`` under the id ``new_id`` with ``config`` over its architecture."""
    base = MODELS[base_id]
    return dataclasses.replace(base, id=new_id, config={**base.config, **config}, expected_params=0)


def tiny_esm(layers: int = LAYERS, hidden: int = HIDDEN, heads: int = HEADS) -> ModelInfo:
    return shrunk(
        "esm2_t6_8M",
        "tiny_esm",
        num_hidden_layers=layers,
        hidden_size=hidden,
        num_attention_heads=heads,
        intermediate_size=2 * hidden,
    )


def tiny_bert() -> ModelInfo:
    return shrunk("prot_bert", "tiny_bert", **ENCODER_SIZES, max_position_embeddings=512)


def tiny_t5() -> ModelInfo:
    return shrunk(
        "prot_t5_xl_enc",
        "tiny_t5",
        num_layers=LAYERS,
        d_model=HIDDEN,
        d_ff=FFN,
        num_heads=HEADS,
        d_kv=16,
    )


def tiny_protst() -> ModelInfo:
    return shrunk("protst_esm1b", "tiny_protst", **ENCODER_SIZES)


TINY = {
    "tiny_esm": tiny_esm,
    "tiny_bert": tiny_bert,
    "tiny_t5": tiny_t5,
    "tiny_protst": tiny_protst,
}


def register(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the tiny models known to the catalog for the current test."""
    for name, make in TINY.items():
        monkeypatch.setitem(MODELS, name, make())


def run_in_process(monkeypatch: pytest.MonkeyPatch, **settings: Any) -> list[WorkerMessage]:
    """Run the real worker loop in this process on a tiny model; return what it sent."""
    register(monkeypatch)
    return run_spec_in_process(monkeypatch, tiny_spec(**settings))


def run_spec_in_process(
    monkeypatch: pytest.MonkeyPatch, spec: RunSpec, device: str = "cpu"
) -> list[WorkerMessage]:
    """Run the real worker loop for ``spec`` in this process, as the worker of ``device``; return
    what it sent.

    The address-space cap is left out: it would outlive the test in this process."""
    import engines.runner as runner

    monkeypatch.setattr(runner, "cap_address_space", lambda limit_mb: None)
    messages: list[WorkerMessage] = []
    runner.run_worker(WorkerTask(spec.to_dict(), 0, device, {}), messages.append, lambda: False)
    return messages


def of_type(messages: list[WorkerMessage], kind: type) -> list[Any]:
    """The messages of one type, in the order they were sent."""
    return [m for m in messages if isinstance(m, kind)]


def result_of(spec: RunSpec, messages: list[WorkerMessage]) -> Result:
    """The Result the session would build from these messages (no telemetry)."""
    collector = RunCollector(spec.worker_devices())
    for message in messages:
        collector.handle(message)
    clock = RunClock(started=time.monotonic())
    clock.ended = time.monotonic()
    return build_result(
        spec, MeasureOptions(telemetry=False), collector, [], {}, "now", clock, None, {}
    )


def tiny_spec(**settings: Any) -> RunSpec:
    """A short run of the tiny ESM: 4 batches of 2 sequences of 30 residues."""
    defaults: dict[str, Any] = {
        "model": "tiny_esm",
        "seq_len": 30,
        "batch_size": 2,
        "duration_s": 0.05,
        "min_iters": 2,
        "warmup": 1,
    }
    return RunSpec(**{**defaults, **settings})
