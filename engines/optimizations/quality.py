"""``--quality``: how far the optimized model's outputs drift from an fp32 eager reference.

The reference is built in the worker with the same weights (the same seed for random weights, the
same file or cache loaded again for real ones), in fp32 with eager attention and no optimization,
and run on a fixed subset of the workload (the first :data:`SUBSET_BATCHES` batches). Its outputs
are kept on the host in fp32 and the reference model is freed before the optimized model is built.
The optimized model runs the same batches after warm-up, outside the measured loop.

Metrics, over real sequences only (the dummy rows that fill a bucket are left out):

- encoders (ESM, BERT, T5): the last hidden state. ``cosine_min``/``cosine_mean``: cosine
  similarity of per-sequence embeddings mean-pooled over real residues (special tokens and padding
  masked out); ``max_abs_error``/``mean_abs_error``: absolute error of the per-residue embeddings;
  ``reference_max_abs`` for scale.
- ProtST (a classifier): its logits, the model's only output. Cosine of each sequence's logit
  vector, absolute error, and ``top1_agreement`` (share of sequences whose predicted class is
  unchanged). With two labels the cosine is coarse; the top-1 agreement is the figure to read.

A ``warning`` is set when ``cosine_min`` is below :data:`COSINE_THRESHOLD` or outputs are not
finite.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as functional
from torch import nn

from engines.catalog import ModelInfo
from engines.inputs import TensorBatch
from engines.tokenizers import Tokenizer

COSINE_THRESHOLD = 0.99
SUBSET_BATCHES = 2

Forward = Callable[[nn.Module, TensorBatch], object]


@dataclass
class Reference:
    """The fp32 eager reference's outputs on the quality subset (host memory, fp32)."""

    outputs: list[torch.Tensor]
    masks: list[torch.Tensor]
    kind: str  # "embeddings" or "logits"
    description: str
    seconds: float

    @property
    def sequences(self) -> int:
        return sum(int(out.shape[0]) for out in self.outputs)


@dataclass(frozen=True)
class QualityReport:
    metrics: dict[str, float | None]
    compared: str
    reference: str
    warning: str | None


def subset(batches: Sequence[TensorBatch]) -> list[TensorBatch]:
    return list(batches[:SUBSET_BATCHES])


def residue_mask(batch: TensorBatch, tokenizer: Tokenizer) -> torch.Tensor:
    """True at real residues of real rows: padding, special tokens and dummy rows are False."""
    rows = batch.batch.sequences
    ids = batch.input_ids[:rows].cpu()
    mask = batch.attention_mask[:rows].cpu().bool()
    for special in (tokenizer.eos_id, tokenizer.bos_id):
        if special is not None:
            mask &= ids != special
    return mask


def output_tensor(output: object) -> tuple[torch.Tensor, str]:
    """The tensor to compare from a model's output, and whether it is embeddings or logits."""
    hidden = getattr(output, "last_hidden_state", None)
    if isinstance(hidden, torch.Tensor):
        return hidden, "embeddings"
    if isinstance(output, torch.Tensor):
        return output, "embeddings" if output.dim() == 3 else "logits"
    if isinstance(output, tuple | list) and output and isinstance(output[0], torch.Tensor):
        first = output[0]
        return first, "embeddings" if first.dim() == 3 else "logits"
    raise TypeError(f"cannot compare a model output of type {type(output).__name__}")


def host_output(output: object, batch: TensorBatch) -> tuple[torch.Tensor, str]:
    """The output's real rows as fp32 on the host."""
    tensor, kind = output_tensor(output)
    return tensor[: batch.batch.sequences].detach().float().cpu(), kind


def describe_weights(weights: str, seed: int) -> str:
    if weights == "random":
        return f"the same random weights (seed {seed})"
    if weights == "cache":
        return "the same weights loaded again from the local Hugging Face cache"
    return f"the same weights loaded again from {weights}"


def compute_reference(
    info: ModelInfo,
    weights: str,
    seed: int,
    batches: Sequence[TensorBatch],
    tokenizer: Tokenizer,
    device: torch.device,
    forward: Forward,
) -> Reference:
    """Build the fp32 eager reference, run it on ``batches``, free it, keep its outputs."""
    from engines.builders import build_model

    began = time.perf_counter()
    built = build_model(
        info, weights=weights, attention="eager", device=device, dtype=torch.float32, seed=seed
    )
    try:
        outputs: list[torch.Tensor] = []
        kind = "embeddings"
        with torch.inference_mode():
            for batch in batches:
                tensor, kind = host_output(forward(built.module, batch), batch)
                outputs.append(tensor)
    finally:
        del built
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return Reference(
        outputs=outputs,
        masks=[residue_mask(batch, tokenizer) for batch in batches],
        kind=kind,
        description=f"fp32, eager attention, no optimization, {describe_weights(weights, seed)}",
        seconds=time.perf_counter() - began,
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _pool(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(values.dtype)
    return (values * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def compare(reference: Reference, outputs: Sequence[torch.Tensor]) -> QualityReport:
    """Drift of ``outputs`` (host fp32, one per subset batch) against the reference."""
    if len(outputs) != len(reference.outputs):
        raise ValueError(f"{len(outputs)} outputs for {len(reference.outputs)} reference batches")
    cosines: list[torch.Tensor] = []
    errors: list[torch.Tensor] = []
    scale: list[torch.Tensor] = []
    agree = 0
    for ours, theirs, mask in zip(outputs, reference.outputs, reference.masks, strict=True):
        if ours.shape != theirs.shape:
            raise ValueError(f"output shape {tuple(ours.shape)} != reference {tuple(theirs.shape)}")
        if reference.kind == "embeddings":
            cosines.append(functional.cosine_similarity(_pool(ours, mask), _pool(theirs, mask)))
            errors.append((ours - theirs).abs()[mask])
            scale.append(theirs.abs()[mask])
        else:
            cosines.append(functional.cosine_similarity(ours, theirs, dim=-1))
            errors.append((ours - theirs).abs().flatten())
            scale.append(theirs.abs().flatten())
            agree += int((ours.argmax(dim=-1) == theirs.argmax(dim=-1)).sum())
    cosine = torch.cat(cosines)
    error = torch.cat(errors)
    sequences = int(cosine.numel())
    metrics: dict[str, float | None] = {
        "cosine_min": _finite(float(cosine.min())) if sequences else None,
        "cosine_mean": _finite(float(cosine.mean())) if sequences else None,
        "max_abs_error": _finite(float(error.max())) if error.numel() else None,
        "mean_abs_error": _finite(float(error.mean())) if error.numel() else None,
        "reference_max_abs": float(torch.cat(scale).max()) if error.numel() else None,
        "sequences": sequences,
        "batches": len(outputs),
        "cosine_threshold": COSINE_THRESHOLD,
        "reference_s": reference.seconds,
    }
    if reference.kind == "logits":
        metrics["top1_agreement"] = agree / sequences if sequences else None
        compared = "classifier logits: cosine per sequence, absolute error, top-1 agreement"
    else:
        compared = (
            "last hidden state: cosine of embeddings mean-pooled over real residues, absolute "
            "error of per-residue embeddings"
        )
    compared += f"; first {len(outputs)} batch(es), {sequences} sequences"
    return QualityReport(metrics, compared, reference.description, _warning(metrics, error))


def _warning(metrics: dict[str, float | None], error: torch.Tensor) -> str | None:
    if error.numel() and not bool(torch.isfinite(error).all()):
        return "outputs contain NaN or infinity (overflow in reduced precision?)"
    low = metrics["cosine_min"]
    if low is None:
        return "no cosine similarity could be computed"
    if low < COSINE_THRESHOLD:
        return (
            f"outputs drift from the fp32 reference: cosine min {low:.4f} < {COSINE_THRESHOLD} "
            "(compare downstream results before trusting this setting)"
        )
    return None


def unavailable(reason: str) -> QualityReport:
    """A report for a reference that could not be made (it did not fit, for instance)."""
    return QualityReport({}, "", "fp32 eager reference", f"no quality check: {reason}")
