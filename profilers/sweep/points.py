"""The points of a sweep: every combination of the grid as a checked RunSpec, with a stable file
name, and what became of it (pending, skipped with a reason, or its Result's status)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.errors import PlmprofError
from engines.messages import Status
from engines.preflight import check_runnable
from engines.spec import RunSpec
from profilers.layout import PENDING, SKIPPED
from profilers.sweep.grid import SweepGrid, jsonable

Check = Callable[[RunSpec], object]

_SPEC_DEFAULTS = RunSpec().to_dict()


def point_key(spec: RunSpec) -> str:
    """A stable file stem for a point: a readable slug and a short hash of its settings.

    Only settings that differ from RunSpec's defaults are hashed, so a field added to RunSpec
    later (with a default) does not rename the files of existing sweeps."""
    data = spec.to_dict()
    data.pop("notes", None)
    changed = {k: v for k, v in data.items() if _SPEC_DEFAULTS.get(k, object()) != v}
    digest = hashlib.sha1(json.dumps(changed, sort_keys=True).encode("utf-8")).hexdigest()[:10]
    return f"{point_slug(spec)}-{digest}"


def point_slug(spec: RunSpec) -> str:
    parts = [spec.model, spec.device, spec.dtype]
    if spec.autocast:
        parts.append("autocast")
    if spec.int8 != "none":
        parts.append(f"int8-{spec.int8}")
    if spec.prune != "none":
        parts.append(f"prune-{spec.prune}")
    parts.append(spec.attention)
    if spec.packing:
        parts.append("packed")
    if spec.compile != "none":
        parts.append(f"compile-{spec.compile}")
    if spec.seq_len is not None:
        parts.append(f"len{spec.seq_len}")
    elif spec.lengths is not None:
        parts.append(spec.lengths)
    elif spec.fasta is not None:
        parts.append(Path(spec.fasta).stem)
    parts.append(f"tb{spec.token_budget}" if spec.token_budget else f"b{spec.batch_size}")
    clean = [re.sub(r"[^A-Za-z0-9._]+", "-", p.replace(":", "")).strip("-") for p in parts]
    return "-".join(c for c in clean if c)[:80]


@dataclass
class SweepPoint:
    """One point of the grid. ``status`` is ``pending``, ``skipped`` (with ``reason``), or the
    status of its Result (``ok``, ``oom``…); ``file`` is relative to the sweep folder."""

    index: int
    settings: dict[str, Any]
    spec: RunSpec | None = None
    key: str | None = None
    status: str = PENDING
    reason: str | None = None
    file: str | None = None
    run_id: str | None = None
    wall_s: float | None = None
    resumed: bool = False
    figures: dict[str, Any] = field(default_factory=dict)
    node: str | None = None  # the cluster node that ran it (``--executor ray``)

    @property
    def label(self) -> str:
        if self.key is not None:
            return self.key
        return ", ".join(f"{k}={v}" for k, v in self.settings.items()) or f"point {self.index}"

    @property
    def done(self) -> bool:
        return self.status not in (PENDING, SKIPPED, Status.INTERRUPTED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "key": self.key,
            "settings": {k: jsonable(v) for k, v in self.settings.items()},
            "status": self.status,
            "reason": self.reason,
            "file": self.file,
            "run_id": self.run_id,
            "wall_s": self.wall_s,
            "resumed": self.resumed,
            "figures": self.figures,
            "node": self.node,
        }


def expand(grid: SweepGrid, check: Check | None = check_runnable) -> list[SweepPoint]:
    """Every point of ``grid`` as a RunSpec, checked. Points that cannot run (invalid settings,
    a preflight error such as cuda without CUDA, an unsupported combination, or the same run as an
    earlier point) are ``skipped`` with the reason; nothing is started."""
    points: list[SweepPoint] = []
    seen: dict[str, int] = {}
    for index, combo in enumerate(grid.combinations(), start=1):
        point = SweepPoint(index=index, settings=combo)
        points.append(point)
        try:
            spec = RunSpec(**{**grid.fixed, **combo})
        except PlmprofError as exc:
            point.status, point.reason = SKIPPED, str(exc)
            continue
        except (TypeError, ValueError) as exc:
            point.status, point.reason = SKIPPED, f"invalid settings: {exc}"
            continue
        point.spec, point.key = spec, point_key(spec)
        point.file = f"{point.key}.json"
        if point.key in seen:
            point.status = SKIPPED
            point.reason = f"the same run as point {seen[point.key]}"
            continue
        seen[point.key] = index
        if check is None:
            continue
        try:
            check(spec)
        except PlmprofError as exc:
            point.status, point.reason = SKIPPED, str(exc)
    return points
