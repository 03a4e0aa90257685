"""Dispatch by shape, and what happens to a shape no bucket was compiled for."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
from neuron_helpers import tiny_esm

from engines.backends.neuron.buckets import BucketShape
from engines.backends.neuron.model import BucketedNeuronModel, BucketShapeError, NeuronCallError
from engines.backends.neuron.tracer import TraceableEncoder


def batch(rows: int, tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(4, 24, (rows, tokens), generator=torch.Generator().manual_seed(rows))
    return ids, torch.ones(rows, tokens, dtype=torch.long)


def test_standin_traced_module_rejects_any_other_shape(standin: ModuleType) -> None:
    traced = standin.trace(TraceableEncoder(tiny_esm()), batch(2, 16))
    assert traced(*batch(2, 16)).shape == (2, 16, 32)
    for rows, tokens in ((2, 17), (1, 16), (4, 16)):
        with pytest.raises(Exception, match="input shape differs from the traced shape 2x16"):
            traced(*batch(rows, tokens))


def test_calls_go_to_the_module_of_their_shape(standin: ModuleType) -> None:
    encoder = TraceableEncoder(tiny_esm())
    shapes = [BucketShape(2, 16), BucketShape(2, 32)]
    model = BucketedNeuronModel(
        {s: standin.trace(encoder, batch(s.rows, s.tokens)) for s in shapes}
    )
    assert model.shapes == shapes
    assert sorted(model.traced) == ["2x16", "2x32"]
    for shape in shapes:
        ids, mask = batch(shape.rows, shape.tokens)
        with torch.no_grad():
            expected = encoder(ids, mask)
        assert torch.allclose(model(input_ids=ids, attention_mask=mask), expected, atol=1e-5)


def test_a_shape_without_a_bucket_is_a_clear_error(standin: ModuleType) -> None:
    encoder = TraceableEncoder(tiny_esm())
    model = BucketedNeuronModel({BucketShape(2, 16): standin.trace(encoder, batch(2, 16))})
    with pytest.raises(BucketShapeError, match=r"compiled for inputs of 2x20.*buckets: 2x16"):
        model(*batch(2, 20))
    ids, mask = batch(2, 16)
    with pytest.raises(BucketShapeError, match="two \\[rows, tokens\\] tensors of one shape"):
        model(ids, mask[:, :8])


def test_a_failing_traced_call_is_one_readable_line(standin: ModuleType) -> None:
    encoder = TraceableEncoder(tiny_esm())
    traced = standin.trace(encoder, batch(2, 16))
    model = BucketedNeuronModel({BucketShape(2, 18): traced})  # registered under a wrong shape
    with pytest.raises(NeuronCallError) as raised:
        model(*batch(2, 18))
    assert str(raised.value) == (
        "Neuron model call on 2x18 failed: builtins.RuntimeError: stand-in Neuron model: input "
        "shape differs from the traced shape 2x16"
    )


def test_plain_callables_are_held_but_not_registered() -> None:
    model = BucketedNeuronModel({BucketShape(1, 4): lambda ids, mask: ids + mask})
    ids = torch.zeros(1, 4, dtype=torch.long)
    assert torch.equal(model(ids, torch.ones_like(ids)), torch.ones_like(ids))
    assert len(model.traced) == 0
    with pytest.raises(ValueError, match="at least one bucket"):
        BucketedNeuronModel({})
