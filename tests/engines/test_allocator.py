"""The allocator pinning a CPU worker under a memory cap gets (engines/allocator.py): what the
address-space cap counts must not grow with glibc's per-thread arenas or its dynamic mmap
threshold. Measured in a fresh interpreter each time, so the test process keeps its allocator."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engines.allocator import PINNED_NOTE, UNPINNED_NOTE, pins_allocator, result_note

# Address space (MiB) that (1) an 8 MiB block leaves mapped after it is freed, following a freed
# 16 MiB block (the dynamic threshold rises to 16 MiB, so the 8 MiB block comes from the heap),
# and (2) a new thread's first malloc adds (its arena's 64 MiB reservation, besides its stack).
PROBE = """
import ctypes, ctypes.util, json, sys, threading
from engines.allocator import allocator_notes, pin_allocator
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
def mapped():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * 4096 >> 20
pinned = pin_allocator() if sys.argv[1] == "pin" else None
libc.free(libc.malloc(16 << 20))
before = mapped()
block = libc.malloc(8 << 20)
ctypes.memset(block, 1, 8 << 20)
libc.free(block)
kept = mapped() - before
before = mapped()
thread = threading.Thread(target=lambda: libc.free(libc.malloc(1000)))
thread.start()
thread.join()
print(json.dumps([pinned, kept, mapped() - before, allocator_notes()]))
"""


def _probe(mode: str) -> list[object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True, timeout=60
    )
    return list(json.loads(done.stdout))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc (Linux) only")
def test_pinned_malloc_maps_only_what_it_holds() -> None:
    _, kept, thread, notes = _probe("default")
    assert kept >= 7 and thread >= 64 and notes == []  # glibc's defaults, for contrast
    pinned, kept, thread, notes = _probe("pin")
    assert pinned is True and kept == 0 and thread < 64
    assert notes == [PINNED_NOTE]


@pytest.mark.parametrize(
    ("spec", "device", "pins"),
    [
        ({"memory_limit_mb": 600}, "cpu", True),
        ({"memory_limit_mb": 600}, "neuron:0", True),
        ({"memory_limit_mb": 600}, "cuda:0", False),  # the cap is the CUDA allocator's fraction
        ({"memory_limit_mb": None}, "cpu", False),  # uncapped: the allocator users get
    ],
)
def test_only_a_worker_under_an_address_space_cap_pins_malloc(
    spec: dict[str, object], device: str, pins: bool
) -> None:
    assert pins_allocator(spec, device) is pins


def test_a_result_says_whether_a_capped_workers_malloc_was_pinned() -> None:
    pinned = result_note(["a compile note", PINNED_NOTE])
    assert pinned is not None and pinned.startswith(PINNED_NOTE)
    assert "speed may be lower than without --memory-limit" in pinned
    assert result_note([UNPINNED_NOTE]) == UNPINNED_NOTE  # what fits may move: said, not hidden
    assert result_note(["a compile note"]) is None  # not capped
