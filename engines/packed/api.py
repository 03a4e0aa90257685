"""The packed inference path's entry points, as the worker loop would call them.

::

    batches = plan_packing(lengths, budget=65_536, special=tokenizer.special_tokens)
    tensors = packed_tensors(batches, sequences, tokenizer, device)      # before the timed loop
    runner = PackedRunner(built.module, info, attention="auto", compile="default")
    embeddings = runner(tensors[0])     # [sequences, d], fp32, mean over each sequence's residues

``PackedBatch`` is the plan (like :class:`engines.batching.Batch`), ``PackedTensors`` its tokens
and per-token metadata (like :class:`engines.inputs.TensorBatch`). :class:`PackedFeeder`
tokenises and copies rows on a background thread (pinned memory, a side CUDA stream) for runs that
time tokenisation and host-to-device copies together with the model.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import torch
from torch import nn

from engines.catalog import Family, ModelInfo
from engines.errors import InvalidInputError, UnsupportedError
from engines.packed.attention import ATTENTION_BACKENDS, make_plan, varlen_available
from engines.packed.bert_packed import PackedBert
from engines.packed.esm_packed import PackedEsm
from engines.packed.layers import UnsupportedModel
from engines.packed.pack import PackedBatch, row_layout
from engines.structure import ModelShape
from engines.tokenizers import Tokenizer, get_tokenizer

ATTENTIONS = ("auto", *ATTENTION_BACKENDS)
COMPILE_MODES = ("none", "default", "max-autotune", "reduce-overhead")
# Under torch.compile, max_seqlen is rounded up to a multiple of this (fewer recompilations;
# a larger bound is safe for the varlen kernels, it only sizes their launch grid).
SEQLEN_BUCKET = 128

_NOT_YET = {
    Family.T5_ENCODER: (
        "packing is not implemented for T5 encoders (ProtT5, Ankh) yet: their relative position "
        "bias must be computed from positions within each sequence, which FlexAttention can do "
        "as a score_mod (bucketed relative position -> bias per head); varlen and jagged SDPA "
        "take no bias, so only 'flex' or 'masked' would apply"
    ),
    Family.PROTST: (
        "packing is not implemented for ProtST: its ESM-1b backbone packs, but its head pools "
        "over every real token, special tokens included; pool that way and apply the head"
    ),
}


_FORWARDS: dict[Family, type[PackedEsm] | type[PackedBert]] = {
    Family.ESM: PackedEsm,
    Family.BERT: PackedBert,
}


def packed_shape(shape: ModelShape) -> ModelShape:
    """What a packed forward computes of a model of ``shape``: the encoder on every token, and no
    per-sequence head (the BERT pooler is not run; the runner mean-pools instead)."""
    return replace(shape, sequence_linear_params=0)


def packed_support(info: ModelInfo) -> str | None:
    """None when ``info``'s family has a packed forward, else why not (and what it would need)."""
    if info.family in _FORWARDS:
        return None
    return _NOT_YET.get(info.family, f"packing is not implemented for {info.id}")


@dataclass(frozen=True)
class PackedTensors:
    """One packed row's tensors: ``input_ids`` and the metadata of :class:`pack.RowLayout`."""

    input_ids: torch.Tensor  # [T] int64
    position_ids: torch.Tensor  # [T] int64, restarting per segment
    document_ids: torch.Tensor  # [T] int32
    cu_seqlens: torch.Tensor  # [segments + 1] int32
    pool_index: torch.Tensor  # [T] int64
    residue_counts: torch.Tensor  # [sequences] float32
    batch: PackedBatch

    def _map(self, action: Any) -> PackedTensors:
        changes = {f.name: action(getattr(self, f.name)) for f in fields(self) if f.name != "batch"}
        return replace(self, **changes)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> PackedTensors:
        return self._map(lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> PackedTensors:
        return self._map(lambda t: t.pin_memory())

    def record_stream(self, stream: Any) -> None:
        for f in fields(self):
            if f.name != "batch":
                getattr(self, f.name).record_stream(stream)


def _leading_special(tokenizer: Tokenizer) -> int:
    return 0 if tokenizer.bos_id is None else 1


def pack_tensors(
    batch: PackedBatch, sequences: Sequence[str], tokenizer: Tokenizer
) -> PackedTensors:
    """Tokenise ``batch``'s sequences (``sequences`` indexed by ``batch.indices``) into one row on
    the host; the row is padded with the tokenizer's pad id."""
    ids: list[int] = []
    for index, expected in zip(batch.indices, batch.token_lengths, strict=True):
        encoded = tokenizer.encode(sequences[index])
        if len(encoded) != expected:
            raise ValueError(
                f"sequence {index} encodes to {len(encoded)} tokens but the plan expects "
                f"{expected}; plan with the same lengths and tokenizer"
            )
        ids.extend(encoded)
    ids.extend([tokenizer.pad_id] * batch.padding)
    layout = row_layout(batch, _leading_special(tokenizer))
    return PackedTensors(
        input_ids=torch.tensor(ids, dtype=torch.int64),
        position_ids=layout.position_ids,
        document_ids=layout.document_ids,
        cu_seqlens=layout.cu_seqlens,
        pool_index=layout.pool_index,
        residue_counts=layout.residue_counts,
        batch=batch,
    )


def packed_tensors(
    batches: Sequence[PackedBatch],
    sequences: Sequence[str],
    tokenizer: Tokenizer,
    device: torch.device | str,
) -> list[PackedTensors]:
    """Every row tokenised once and placed on ``device`` (the analogue of ``to_tensors``)."""
    return [pack_tensors(batch, sequences, tokenizer).to(device) for batch in batches]


def resolve_attention(requested: str, device: torch.device, dtype: torch.dtype) -> str:
    """The backend ``requested`` names; ``auto`` picks varlen on CUDA in fp16/bf16, else jagged.

    ``auto`` is a starting point, not a measured choice: the GPU benchmark compares them all.
    Raises :class:`UnsupportedError` for a backend that cannot run on this device and dtype.
    """
    if requested not in ATTENTIONS:
        raise InvalidInputError(
            f"packed attention '{requested}' is not one of {', '.join(ATTENTIONS)}"
        )
    half = dtype in (torch.float16, torch.bfloat16)
    if requested == "auto":
        return "varlen" if device.type == "cuda" and half and varlen_available() else "jagged"
    if requested == "varlen":
        if not varlen_available():
            raise UnsupportedError("torch.nn.attention.varlen is not in this torch release")
        if device.type != "cuda" or not half:
            raise UnsupportedError(
                "varlen attention runs flash attention: CUDA with fp16 or bf16 only "
                f"(got {device.type}, {dtype})"
            )
    return requested


class PackedRunner:
    """Runs packed rows through a built model; ``runner(tensors)`` -> per-sequence embeddings.

    ``model`` is the module :func:`engines.builders.build_model` returned (transformers
    ``EsmModel``), already on its device and dtype. ``compile`` is a ``torch.compile`` mode or
    ``"none"``; ``reduce-overhead`` (CUDA graphs) suits fixed shapes such as batch-1 latency.
    """

    def __init__(
        self,
        model: nn.Module,
        info: ModelInfo,
        attention: str = "auto",
        *,
        compile: str = "none",
        fuse_qkv: bool = True,
        dynamic: bool | None = None,
    ) -> None:
        reason = packed_support(info)
        if reason is not None:
            raise UnsupportedError(reason)
        if compile not in COMPILE_MODES:
            raise InvalidInputError(f"compile mode '{compile}' is not one of {COMPILE_MODES}")
        try:
            self.module = _FORWARDS[info.family](model, fuse_qkv=fuse_qkv).eval()
        except UnsupportedModel as exc:
            raise UnsupportedError(str(exc)) from None
        parameter = next(model.parameters())
        self.device = parameter.device
        self.dtype = parameter.dtype
        self.attention = resolve_attention(attention, self.device, self.dtype)
        self.compile_mode = "none"
        self.tokenizer = get_tokenizer(info.tokenizer)
        self.max_tokens = self.module.max_tokens
        self._forward: Any = self.module
        if compile != "none":
            self.compile(compile, dynamic=dynamic)

    def compile(self, mode: str, *, dynamic: bool | None = None) -> None:
        """Run the packed forward under ``torch.compile`` (``mode`` as ``--compile`` names it)."""
        self._forward = torch.compile(
            self.module, mode=None if mode == "default" else mode, dynamic=dynamic
        )
        self.compile_mode = mode

    @property
    def extra_memory_bytes(self) -> int:
        return self.module.extra_memory_bytes()

    def hidden_states(self, tensors: PackedTensors) -> torch.Tensor:
        """Last hidden state of every token of the row, ``[T, d]`` in the model dtype."""
        batch = tensors.batch
        if self.max_tokens is not None and batch.max_seqlen > self.max_tokens:
            raise InvalidInputError(
                f"a sequence of {batch.max_seqlen} tokens exceeds this model's "
                f"{self.max_tokens} positions; truncate it first"
            )
        longest = batch.max_seqlen
        if self.compile_mode != "none":
            longest = -(-longest // SEQLEN_BUCKET) * SEQLEN_BUCKET
        plan = make_plan(
            self.attention,
            tensors.document_ids,
            tensors.cu_seqlens,
            longest,
            batch.uniform_len,
        )
        hidden: torch.Tensor = self._forward(tensors.input_ids, tensors.position_ids, plan)
        return hidden

    @staticmethod
    def pool(hidden: torch.Tensor, tensors: PackedTensors) -> torch.Tensor:
        """Mean over each sequence's residues (special tokens and padding left out), fp32."""
        count = tensors.batch.sequences
        sums = torch.zeros(count + 1, hidden.shape[-1], device=hidden.device, dtype=torch.float32)
        sums.index_add_(0, tensors.pool_index, hidden.float())
        return sums[:count] / tensors.residue_counts.clamp(min=1.0)[:, None]

    def __call__(self, tensors: PackedTensors) -> torch.Tensor:
        """Per-sequence embeddings ``[sequences, d]`` (fp32), in ``tensors.batch.indices`` order."""
        return self.pool(self.hidden_states(tensors), tensors)


_DONE = object()


class PackedFeeder:
    """Tokenises rows and copies them to ``device`` on a background thread, ``depth`` ahead.

    On CUDA the host tensors are pinned and copied with ``non_blocking`` on a side stream; each
    row handed out is ordered after its copy on the consumer's current stream. Iterate once; a
    feeder that is not iterated to the end is stopped by :meth:`close` (or ``with``).
    """

    def __init__(
        self,
        batches: Sequence[PackedBatch],
        sequences: Sequence[str],
        tokenizer: Tokenizer,
        device: torch.device | str,
        *,
        depth: int = 2,
    ) -> None:
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self._batches = list(batches)
        self._sequences = sequences
        self._tokenizer = tokenizer
        self._device = torch.device(device)
        self._cuda = self._device.type == "cuda"
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._stream: Any = torch.cuda.Stream(self._device) if self._cuda else None
        self._thread = threading.Thread(target=self._produce, name="packed-feeder", daemon=True)
        self._started = False

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def _produce(self) -> None:
        try:
            context: Any = (
                torch.cuda.device(self._device) if self._cuda else contextlib.nullcontext()
            )
            with context:
                self._produce_rows()
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc)
            return
        self._put(_DONE)

    def _produce_rows(self) -> None:
        for batch in self._batches:
            if self._stop.is_set():
                return
            host = pack_tensors(batch, self._sequences, self._tokenizer)
            if self._cuda:
                host = host.pin_memory()
                with torch.cuda.stream(self._stream):
                    moved = host.to(self._device, non_blocking=True)
                    event = torch.cuda.Event()
                    event.record(self._stream)
                item: Any = (moved, event)
            else:
                item = (host.to(self._device), None)
            if not self._put(item):
                return

    def __iter__(self) -> Iterator[PackedTensors]:
        if self._started:
            raise RuntimeError("a PackedFeeder can be iterated only once")
        self._started = True
        self._thread.start()
        try:
            while True:
                item = self._queue.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                tensors, event = item
                if event is not None:
                    current = torch.cuda.current_stream(self._device)
                    current.wait_event(event)
                    tensors.record_stream(current)
                yield tensors
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        if self._started:
            self._thread.join(timeout=5.0)

    def __enter__(self) -> PackedFeeder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
