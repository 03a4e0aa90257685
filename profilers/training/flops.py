"""FLOPs of a training step, counted from the model's shape and what trains.

For one sequence of S tokens the forward pass costs F = L + A, with L = 2·N·S for the Linear
weights N it runs (LoRA's adapters included) and A = 4·Σd_attn·S² for attention (PaLM appendix B).
The backward pass computes input gradients wherever gradients must flow (L again, and 2·A: both
operands of both attention products need one) and a weight gradient for each trainable Linear
weight (2·N_trainable·S). So:

- full fine-tuning: F + (L + 2A) + L = 3·F;
- LoRA: F + (L + 2A) + 2·N_adapters·S ≈ 2·F (frozen weights need no weight gradient, and the
  first layer's frozen projections of the embeddings no input gradient either);
- head only: F + about 2× the head's forward (the backward stops at the head).

Gradient checkpointing recomputes the encoder's forward in the backward pass: that is hardware
work, not model work, and is counted apart (``recompute``), as MLPerf separates MFU from HFU. It is
an upper bound: torch's non-reentrant checkpoint stops a layer's recomputation once the tensors
the backward needs are back (FlopCounterMode saw 75-95% of it on the tiny test models).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engines.structure import ModelShape
from engines.training.shape import TrainedShape
from profilers.efficiency import flops_per_sequence
from profilers.work import sequence_flops


@dataclass(frozen=True)
class StepFlops:
    forward: int
    model: int  # forward + backward, the model's own work
    recompute: int  # checkpointing's extra forward (hardware work only)

    @property
    def hardware(self) -> int:
        return self.model + self.recompute

    def times(self, count: int) -> StepFlops:
        return StepFlops(self.forward * count, self.model * count, self.recompute * count)

    def __add__(self, other: StepFlops) -> StepFlops:
        return StepFlops(
            self.forward + other.forward, self.model + other.model, self.recompute + other.recompute
        )


ZERO = StepFlops(0, 0, 0)


def sequence_training_flops(shape: ModelShape, trained: TrainedShape, tokens: int) -> StepFlops:
    """FLOPs of training on one sequence of ``tokens`` tokens (forward and backward)."""
    forward = sequence_flops(shape, tokens) + 2 * trained.adapter_token_params * tokens
    attention = flops_per_sequence(0, shape.attn_dims, tokens)
    weight_grads = 2 * (
        trained.weight_grad_token_params * tokens + trained.weight_grad_sequence_params
    )
    head = 2 * (trained.head_token_params * tokens + trained.head_sequence_params)
    if trained.encoder_trainable:
        skipped = 2 * trained.no_input_grad_token_params * tokens
        backward = (forward - attention - skipped) + 2 * attention + weight_grads
    else:
        backward = head + weight_grads
    recompute = forward - head if trained.checkpointing else 0
    return StepFlops(forward, forward + backward, recompute)


def training_flops(
    shape: ModelShape, trained: TrainedShape, token_counts: Iterable[int]
) -> StepFlops:
    """Sum over sequences of the given token counts (real or padded)."""
    total = ZERO
    for tokens in token_counts:
        total = total + sequence_training_flops(shape, trained, tokens)
    return total
