"""On a Neuron host only: compile a tiny model for real and compare it with the CPU.

Skipped everywhere else (no torch-neuronx, or the PyPI placeholder, or no /dev/neuron*). It has
not run yet: no Neuron machine was reachable when it was written.
"""

from __future__ import annotations

import pytest
import torch
from neuron_helpers import neuron_spec, planned_batches, tiny_esm

from engines.backends.neuron.engine import compile_buckets
from engines.backends.neuron.sdk import neuron_device_files
from engines.catalog import get_model_info

torch_neuronx = pytest.importorskip("torch_neuronx", exc_type=ImportError)
pytestmark = [
    pytest.mark.neuron,
    pytest.mark.skipif(not neuron_device_files(), reason="no Neuron device (/dev/neuron*)"),
]


def test_tiny_esm_compiles_runs_and_matches_the_cpu() -> None:
    spec, batches = planned_batches(neuron_spec(lengths="fixed:30"))
    reference = tiny_esm()
    prepared = compile_buckets(
        tiny_esm(), get_model_info("esm2_t6_8M"), spec, batches, neuronx=torch_neuronx
    )
    assert not prepared.cpu_backend
    for batch in batches:
        with torch.no_grad():
            expected = reference(
                input_ids=batch.input_ids, attention_mask=batch.attention_mask
            ).last_hidden_state
        got = prepared.module(batch.input_ids, batch.attention_mask)
        assert (got - expected).abs().max().item() < 1e-2  # fp32, --auto-cast none
    again = compile_buckets(
        tiny_esm(), get_model_info("esm2_t6_8M"), spec, batches, neuronx=torch_neuronx
    )
    assert all(o.cached for o in again.outcomes)
