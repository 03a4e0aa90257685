"""Graphs on Gaudi: HPU graphs, torch.compile's ``hpu_backend``, and graph compilations counted.

The bridge compiles one graph per distinct input shape (in lazy mode at ``mark_step``, in eager
mode under torch.compile), so dynamic shapes cost recompilations. They are counted with the
bridge's own metric, ``metric_global("graph_compilation")`` (its ``TotalNumber``; the same metric
``PT_HPU_METRICS_FILE`` dumps), read before warm-up, after warm-up and after the measured loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from .bridge import Bridge

COMPILE_BACKEND = "hpu_backend"
GRAPH_METRIC = "graph_compilation"


def wrap_in_hpu_graph(bridge: Bridge, model: nn.Module) -> nn.Module:
    """``model`` captured and replayed as HPU graphs (one per input shape)."""
    wrapped = bridge.hpu.wrap_in_hpu_graph(model)
    assert isinstance(wrapped, nn.Module)
    return wrapped


def graph_compilations(bridge: Bridge) -> int | None:
    """The bridge's graph-compilation count so far in this process; None when unreadable."""
    try:
        stats: Any = bridge.metrics.metric_global(GRAPH_METRIC).stats()
        value = dict(stats).get("TotalNumber")
    except Exception:  # a metric the bridge does not give is "not available", not a failed run
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class GraphCount:
    """Graph compilations in the two phases of a run: warm-up (every distinct shape runs once
    there when the warm-up is long enough) and the measured loop (none expected with static
    shapes; any there have their compile time inside the latency figures)."""

    bridge: Bridge
    shapes: int
    before: int | None = None
    after_warmup: int | None = None
    after_measure: int | None = None

    def read(self) -> int | None:
        return graph_compilations(self.bridge)

    @property
    def warmup(self) -> int | None:
        if self.before is None or self.after_warmup is None:
            return None
        return self.after_warmup - self.before

    @property
    def measured(self) -> int | None:
        if self.after_warmup is None or self.after_measure is None:
            return None
        return self.after_measure - self.after_warmup

    def notes(self) -> list[str]:
        notes = []
        if self.shapes > 1:
            notes.append(
                f"Gaudi: {self.shapes} distinct batch shapes, each compiled as its own graph; "
                "static shapes (--buckets, or one --seq-len) keep compilations few"
            )
        if self.measured:
            notes.append(
                f"Gaudi: {self.measured} graph compilation(s) during the measured loop: their "
                "compile time is inside the latency figures (raise --warmup to cover every shape)"
            )
        if self.before is None:
            notes.append("Gaudi: graph compilations not counted (metric_global not readable)")
        return notes

    def report(self) -> dict[str, Any]:
        return {
            "metric": f"habana_frameworks metric_global('{GRAPH_METRIC}').TotalNumber",
            "distinct_shapes": self.shapes,
            "graph_compilations_warmup": self.warmup,
            "graph_compilations_measured": self.measured,
            "notes": self.notes(),
        }
