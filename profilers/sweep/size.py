"""How big a grid is, before anything is expanded or run: a grid of thousands of points is
easy to type (five axes of ten values) and takes days. Past a threshold the sweep asks for an
explicit ``--yes``; past a hard limit it is refused."""

from __future__ import annotations

from dataclasses import dataclass

from engines.errors import InvalidInputError
from engines.spec import RunSpec
from profilers.sweep.execution import DEFAULT_OVERHEAD_S
from profilers.sweep.grid import SweepGrid

# A sweep larger than either needs --yes.
CONFIRM_POINTS = 100
CONFIRM_S = 4 * 3600.0
# No sweep holds more points (each is checked, run and saved one by one).
MAX_POINTS = 100_000


@dataclass(frozen=True)
class GridSize:
    """``points`` in the grid (skipped ones included) and ``seconds`` they take: each point's
    measured duration plus the usual start-up (``DEFAULT_OVERHEAD_S``)."""

    points: int
    duration_s: float
    seconds: float

    def describe(self) -> str:
        return (
            f"{self.points:,} points, about {_hours(self.seconds)} "
            f"({self.duration_s:g} s measured + ~{DEFAULT_OVERHEAD_S:g} s start-up each)"
        )


def grid_size(grid: SweepGrid) -> GridSize:
    axes = dict(grid.axes)
    durations = axes.get("duration_s") or (grid.fixed.get("duration_s", RunSpec().duration_s),)
    mean = sum(float(d) for d in durations) / len(durations)
    return GridSize(grid.size, mean, grid.size * (mean + DEFAULT_OVERHEAD_S))


def check_grid_size(grid: SweepGrid, confirmed: bool) -> GridSize:
    """Refuse a grid over ``MAX_POINTS``, and one over ``CONFIRM_POINTS`` points or
    ``CONFIRM_S`` seconds unless ``confirmed`` (``--yes``)."""
    size = grid_size(grid)
    if size.points > MAX_POINTS:
        raise InvalidInputError(
            f"the grid has {size.points:,} points, more than a sweep holds ({MAX_POINTS:,}); "
            "make it smaller or split it into several sweeps"
        )
    if not confirmed and (size.points > CONFIRM_POINTS or size.seconds > CONFIRM_S):
        raise InvalidInputError(
            f"this sweep is {size.describe()}; add --yes to run it, or make the grid smaller "
            "(--dry-run lists the points)"
        )
    return size


def _hours(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 60:.0f} min"
