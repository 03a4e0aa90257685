"""One optimizer step over ``grad_accum`` batches, timed by the device's hooks, and the first
step's memory accounting (parameters, gradients, optimizer state, saved activations)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from engines.tokenizers import Tokenizer
from engines.training.hooks import StepHooks
from engines.training.masking import IGNORE, mask_tokens
from engines.training.plan import LabelledBatch


class DivergedError(RuntimeError):
    """The loss became NaN or infinite (and no loss scaler skipped the step)."""


@dataclass(frozen=True)
class StepResult:
    start: float
    end: float
    loss: float
    phases: dict[str, float] | None
    skipped: bool  # the loss scaler found inf/NaN gradients and skipped the optimizer step


@dataclass
class Stepper:
    """Everything a step needs. ``autocast`` is entered around each forward and loss."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler | None
    hooks: StepHooks
    autocast: Callable[[], contextlib.AbstractContextManager[Any]]
    task: str
    tokenizer: Tokenizer
    seed: int

    def inputs(
        self, batch: LabelledBatch, step: int, position: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The model input and targets of ``batch``; masked-LM draws its mask per step."""
        if self.task == "mlm":
            seed = self.seed * 1_000_003 + step * 97 + position
            return mask_tokens(batch.input_ids, self.tokenizer, seed)
        assert batch.targets is not None
        return batch.input_ids, batch.targets

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return loss_of(logits, targets)

    def step(self, number: int, batches: Sequence[LabelledBatch]) -> StepResult:
        # Read before begin(): GradScaler.get_scale() waits for the device.
        scale = self.scaler.get_scale() if self.scaler is not None else None
        prepared = [self.inputs(b, number, i) for i, b in enumerate(batches)]
        total: torch.Tensor | None = None
        start = self.hooks.begin()
        for batch, (input_ids, targets) in zip(batches, prepared, strict=True):
            with self.autocast():
                logits = self.model(input_ids=input_ids, attention_mask=batch.attention_mask)
                loss = self.loss(logits, targets) / len(batches)
            self.hooks.phase("forward")
            (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
            self.hooks.after_backward()
            self.hooks.phase("backward")
            total = loss.detach() if total is None else total + loss.detach()
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.hooks.after_optimizer()
        self.hooks.phase("optimizer")
        start, end, phases = self.hooks.end()
        assert total is not None
        value = float(total)  # after end(): the device is idle, this read costs no wait
        skipped = self.scaler is not None and self.scaler.get_scale() < (scale or 0)
        if not skipped and not torch.isfinite(torch.tensor(value)):
            raise DivergedError(
                f"the loss became {value} at step {number + 1}; lower --lr (now "
                f"{self.optimizer.param_groups[0]['lr']:g}) or train in fp32"
            )
        return StepResult(start, end, value, phases, skipped)


def loss_of(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over rows (sequence classification) or tokens (``IGNORE`` left out)."""
    return functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), ignore_index=IGNORE
    )


def make_optimizer(model: nn.Module, name: str, lr: float, device: torch.device) -> Any:
    """AdamW (fused on CUDA, where torch has the fused kernel) or plain SGD."""
    params = [p for p in model.parameters() if p.requires_grad]
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    return torch.optim.AdamW(params, lr=lr, fused=device.type == "cuda" or None)


def tensor_bytes(tensors: Sequence[torch.Tensor], exclude: Sequence[torch.Tensor] = ()) -> int:
    """Bytes of the storages behind ``tensors``, each counted once, those of ``exclude`` not."""
    seen = {t.untyped_storage().data_ptr() for t in exclude}
    total = 0
    for tensor in tensors:
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        if key in seen:
            continue
        seen.add(key)
        total += storage.nbytes()
    return total


def optimizer_state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes the optimizer keeps per parameter (AdamW: its two moments), read from its own state
    (filled lazily by the first ``step()``); scalar step counters are left out."""
    tensors = [
        value
        for state in optimizer.state.values()
        for value in state.values()
        if isinstance(value, torch.Tensor) and value.dim() > 0
    ]
    return tensor_bytes(tensors)


@contextlib.contextmanager
def saved_activations() -> Any:
    """Count the bytes autograd saves for the backward pass (each storage once)."""
    saved: list[torch.Tensor] = []

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        saved.append(tensor)
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        yield saved
