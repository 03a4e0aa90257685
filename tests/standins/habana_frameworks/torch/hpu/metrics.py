"""STAND-IN for habana_frameworks.torch.hpu.metrics: ``metric_global`` (graph_compilation only)."""

from __future__ import annotations

from habana_frameworks.torch._state import STATE


class _Metric:
    def __init__(self, name: str) -> None:
        if name != "graph_compilation":
            raise ValueError(f"stand-in: no metric {name!r}")

    def stats(self) -> list[tuple[str, int]]:
        return [("TotalNumber", STATE.compilations), ("TotalTime", 0), ("AvgTime", 0)]


def metric_global(name: str) -> _Metric:
    return _Metric(name)
