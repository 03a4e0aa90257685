"""What a training step trains, as plain numbers: the input to its FLOPs count (no torch here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TrainedShape:
    """How gradients flow through the task model.

    ``encoder_trainable``: gradients reach the encoder (full fine-tuning and LoRA), so the backward
    pass runs through every layer; with ``head`` alone it stops at the head. ``weight_grad_*``:
    trainable Linear weights run on every token / once per sequence (each needs a weight gradient).
    ``adapter_token_params``: LoRA's A and B weights, run on every token beside the frozen ones.
    ``head_*``: the head's Linear weights (outside the encoder). ``checkpointing``: the encoder's
    layers are recomputed in the backward pass. ``no_input_grad_token_params``: frozen weights
    whose input needs no gradient (under LoRA, the first layer's projections of the embeddings).
    """

    finetune: str
    parameters: int
    trainable: int
    encoder_trainable: bool
    weight_grad_token_params: int
    weight_grad_sequence_params: int
    adapter_token_params: int
    head_token_params: int
    head_sequence_params: int
    checkpointing: bool
    no_input_grad_token_params: int = 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
