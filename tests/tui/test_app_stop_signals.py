"""SIGTERM and SIGHUP reach the interactive app as q does: the run in progress stops, what it
measured is saved as an ``interrupted`` Result, its worker ends, and plmprof exits 128 + the
signal. Each case runs the app (headless) in a fresh interpreter with a real Session on a
sleeping fake worker, and the signal comes from outside, as ``kill`` sends it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUPPORT = REPO / "tests" / "support"

APP = """
import json, sys
from pathlib import Path
from fake_engine import sleeping_worker
from engines.spec import RunSpec
from profilers.session import Session
from tui.app import create_app
from tui.commands.interactive import run_app

folder = Path(sys.argv[1])
marker = folder / "measuring"

def session(spec, options, *, on_snapshot):
    def seen(snapshot):
        on_snapshot(snapshot)
        if snapshot.batches >= 5:
            marker.touch()
    return Session(spec, options, on_snapshot=seen, worker_target=sleeping_worker)

async def press_run(pilot):
    await pilot.press("r")

app = create_app(
    session_factory=session,
    results_dir=folder / "results",
    devices=["cpu"],
    default_device="cpu",
    preflight=lambda spec: None,
    param_counter=lambda info: 7_409_081,
    base_spec=RunSpec(seq_len=64, batch_size=4, warmup=1, duration_s=120.0, min_iters=10),
)
results, code = run_app(app, headless=True, auto_pilot=press_run)
print(json.dumps({"code": code, "runs": [r.status for r in results or []]}))
"""


@pytest.mark.parametrize(
    ("number", "times"), [(signal.SIGTERM, 1), (signal.SIGHUP, 1), (signal.SIGTERM, 2)]
)
def test_a_stop_signal_stops_the_run_keeps_it_and_quits(
    tmp_path: Path, number: int, times: int
) -> None:
    """Once: as q, the app quits when the run has stopped. Twice: as q q, the app quits at
    once, and the stopped run's Result is still saved before plmprof exits."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SUPPORT), str(REPO)])}
    if times == 2:  # batches of 0.5 s: the second signal comes while the first stop goes on
        env["FAKE_ENGINE_SLEEP_S"] = "0.5"
    app = subprocess.Popen(
        [sys.executable, "-c", APP, str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 90
        while not (tmp_path / "measuring").exists():
            assert app.poll() is None, app.communicate()
            assert time.monotonic() < deadline, "the run never started measuring"
            time.sleep(0.1)
        for _ in range(times):
            app.send_signal(number)
            time.sleep(0.2)
        out, err = app.communicate(timeout=60)
    finally:
        app.kill()
    assert app.returncode == 0, err  # the script's own exit; the app's code is in its report
    report = json.loads(out.strip().splitlines()[-1])
    assert report["code"] == 128 + number, err
    assert report["runs"] == (["interrupted"] if times == 1 else []), err
    (saved,) = (tmp_path / "results").glob("*.json")
    result = json.loads(saved.read_text())
    assert result["status"] == "interrupted"
    assert result["latency"]["count"] >= 5  # what was measured is kept
    assert "Traceback" not in err
