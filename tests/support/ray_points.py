"""Runners that Ray tasks import in the ``ray`` tests (this folder is on the workers' PYTHONPATH):
they stand in for plmprof's session and record what the task was given."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from engines.errors import UnsupportedError
from engines.placement import place
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.result import Result

LOG_VARIABLE = "PLMPROF_TEST_RAY_LOG"


def _log(event: str, spec: RunSpec) -> None:
    """One JSON line per event in the file ``$PLMPROF_TEST_RAY_LOG`` (one host: a shared file)."""
    record = {"event": event, "batch": spec.batch_size, "pid": os.getpid(), "t": time.time()}
    with Path(os.environ[LOG_VARIABLE]).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def recording_runner(spec: RunSpec, options: MeasureOptions, on_snapshot: Any) -> Result:
    """Sleeps ``spec.duration_s`` and returns an ok Result that says what the task saw: its
    visibility variables, where plmprof pins its workers, its process and times. A point whose
    notes say ``refuse`` fails the node's checks; ``crash`` ends the process without a word."""
    _log("start", spec)
    if "refuse" in spec.notes:
        raise UnsupportedError("this node refuses the point")
    if "crash" in spec.notes:
        os._exit(3)
    started = time.time()
    time.sleep(spec.duration_s)
    devices = spec.worker_devices()
    family = devices[0].partition(":")[0]
    placements = [
        place(device, index, sum(d.startswith(family) for d in devices), dict(os.environ)).env
        for index, device in enumerate(devices)
    ]
    result = Result(
        run_id=f"fake-{spec.device}-{spec.batch_size}-{os.getpid()}",
        created_at="2026-01-01T00:00:00+00:00",
        status="ok",
        spec=spec.to_dict(),
        options=options.to_dict(),
        environment={
            "pid": os.getpid(),
            "started": started,
            "ended": time.time(),
            "omp_threads": os.environ.get("OMP_NUM_THREADS"),
            "placements": placements,
        },
        latency={"unit": "s", "count": 3, "p50": 0.01, "p90": 0.01, "p99": 0.01},
        throughput={"sequences_per_s": 100.0 * spec.batch_size},
    )
    _log("done", spec)
    return result
