"""Pin glibc's malloc in a worker under a CPU memory cap, so that what the cap counts is the same
from run to run.

A CPU worker's memory cap is an address-space limit (``RLIMIT_AS``, ``runner.cap_address_space``):
it counts every mapping, not only the memory the worker uses. Two glibc defaults make that count
move from run to run at the same batch size:

- each thread that allocates may get its own malloc arena, which reserves 64 MiB of address space
  (up to 8 arenas per core); how many exist depends on which threads allocated when;
- the mmap threshold is dynamic: each time a block above it is freed, the threshold rises to that
  block's size (up to 32 MiB), so later blocks of that size come from the heap, where a freed block
  stays mapped and the heap fragments.

With one arena and a fixed threshold (glibc's starting value, 128 KiB), every large tensor is
mapped when it is allocated and unmapped when it is freed, and the cap counts what the worker
holds. This is set only under a ``--memory-limit`` on a device other than CUDA (where the cap is
the allocator's memory fraction): an uncapped run keeps the allocator the user's own programs get.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Mapping, Sequence
from typing import Any

# mallopt parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 128 * 1024
ARENAS = 1

PINNED_NOTE = (
    f"memory cap: malloc pinned to {ARENAS} arena and a fixed "
    f"{MMAP_THRESHOLD_BYTES // 1024} KiB mmap threshold"
)

UNPINNED_NOTE = (
    "memory cap: malloc could not be pinned (no glibc mallopt): which batch fits may change "
    "from run to run"
)

_notes: list[str] = []


def pins_allocator(spec: Mapping[str, Any], device: str) -> bool:
    """Whether a worker for ``spec`` (a RunSpec as a dict) on ``device`` pins its allocator:
    under a memory limit enforced as an address-space cap (every device but CUDA)."""
    return bool(spec.get("memory_limit_mb")) and not device.startswith("cuda")


def pin_allocator() -> bool:
    """Set one malloc arena and a fixed mmap threshold in this process; call it before anything
    allocates large blocks or starts threads. False where glibc's ``mallopt`` is not there or
    refuses (another C library); the run's notes say which (``allocator_notes``)."""
    pinned = _mallopt(M_ARENA_MAX, ARENAS) and _mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    _notes.append(PINNED_NOTE if pinned else UNPINNED_NOTE)
    return pinned


def _mallopt(parameter: int, value: int) -> bool:
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(parameter, value) == 1)


def allocator_notes() -> tuple[str, ...]:
    """What ``pin_allocator`` did in this process, for the run's notes (empty if not called)."""
    return tuple(_notes[-1:])


def result_note(load_notes: Sequence[str]) -> str | None:
    """What a Result says of a capped worker's allocator, from the worker's load notes: pinned
    (and what that costs), or not pinned (so what fits may move); None when it was not capped."""
    if PINNED_NOTE in load_notes:
        return (
            f"{PINNED_NOTE} (so what fits repeats); speed may be lower than without --memory-limit"
        )
    return UNPINNED_NOTE if UNPINNED_NOTE in load_notes else None
