"""AWS Neuron telemetry from a running ``neuron-monitor`` (or a recorded file played back): the
sampler that starts it, reads its JSON lines and hands out the latest ``NeuronSample``. Parsing
a line is ``profilers.telemetry.neuron_report``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import weakref
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from profilers.telemetry.neuron_report import (
    config_for_period,
    parse_report,
)
from profilers.telemetry.samples import NeuronSample


def _terminate(process: subprocess.Popen[str]) -> None:
    """Stop a child process: SIGTERM, then SIGKILL after 3 s."""
    if process.poll() is not None:
        return
    with contextlib.suppress(OSError):
        process.terminate()
    try:
        process.wait(timeout=3)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=3)


class NeuronMonitorSampler:
    """Keeps the latest report of a running ``neuron-monitor``, or replays a recorded file.

    Live: ``start()`` (called by the first ``sample()`` too) writes the config to a temporary
    file, runs ``neuron-monitor -c <config>`` and reads its lines on a daemon thread.
    ``sample()`` returns the most recent parsed report, ``None`` before the first one and after
    the tool exits (``reason`` then says why). Lines that are not JSON objects are skipped and
    counted in ``malformed_lines``. ``close()`` terminates the tool.

    Replay (``NeuronMonitorSampler.replay(path)``): each ``sample()`` returns the next recorded
    report in file order; after the last one it keeps returning the last one (``cycle=True``
    starts over instead).
    """

    def __init__(
        self,
        period_s: float = 1.0,
        executable: str = "neuron-monitor",
        pids: Collection[int] | None = None,
    ) -> None:
        self._period_s = period_s
        self._executable = executable
        self._pids = None if pids is None else frozenset(pids)
        self._lock = threading.Lock()
        self._latest: NeuronSample | None = None
        self._reason: str | None = None
        self._started = False
        self._closed = False
        self._process: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._replay: list[NeuronSample] | None = None
        self._replay_position = 0
        self._cycle = False
        self.lines_read = 0
        self.malformed_lines = 0

    @classmethod
    def replay(
        cls, path: str | os.PathLike[str], cycle: bool = False, pids: Collection[int] | None = None
    ) -> NeuronMonitorSampler:
        """A sampler that plays back a recorded neuron-monitor output file, one report per call."""
        sampler = cls(pids=pids)
        sampler._started = True
        sampler._cycle = cycle
        sampler._replay = []
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            sampler._reason = f"neuron-monitor replay file not readable: {error}"
            return sampler
        sampler._feed(text.splitlines())
        if not sampler._replay:
            sampler._reason = f"neuron-monitor replay file holds no report: {path}"
        return sampler

    def _feed(self, lines: Iterable[str]) -> None:
        for line in lines:
            if line.strip():
                self._accept(line)

    def _accept(self, line: str) -> None:
        """Parse one line; store it (latest, or appended to the replay list) or count it as bad."""
        try:
            sample = parse_report(line, self._pids)
        except Exception:
            with self._lock:
                self.lines_read += 1
                self.malformed_lines += 1
            return
        with self._lock:
            self.lines_read += 1
            if self._replay is not None:
                self._replay.append(sample)
            else:
                self._latest = sample

    @property
    def is_replay(self) -> bool:
        return self._replay is not None

    @property
    def available(self) -> bool:
        """Whether reports can come: a replay with reports, or a tool found (and still running)."""
        if self._replay is not None:
            return bool(self._replay)
        if not self._started:
            return self._find() is not None
        return self._reason is None

    @property
    def reason(self) -> str | None:
        if self._replay is None and not self._started and self._find() is None:
            return self._missing()
        return self._reason

    def _find(self) -> str | None:
        return shutil.which(self._executable)

    def _missing(self) -> str:
        return f"{self._executable} not found on PATH"

    def start(self) -> None:
        """Run neuron-monitor (once). Never raises: failures set ``reason``."""
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
        path = self._find()
        if path is None:
            self._reason = self._missing()
            return
        try:
            self._workdir = tempfile.TemporaryDirectory(prefix="plmprof-neuron-")
            config = Path(self._workdir.name) / "monitor.json"
            config.write_text(json.dumps(config_for_period(self._period_s)), encoding="utf-8")
            stderr = (Path(self._workdir.name) / "stderr.txt").open("w", encoding="utf-8")
            try:
                self._process = subprocess.Popen(
                    [path, "-c", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    text=True,
                    encoding="utf-8",
                    errors="replace",
                    bufsize=1,
                )
            finally:
                stderr.close()
        except OSError as error:
            self._reason = f"{self._executable} could not start: {error}"
            return
        # Stops the tool at interpreter exit too, should close() never be called.
        self._finalizer = weakref.finalize(self, _terminate, self._process)
        self._thread = threading.Thread(
            target=self._read_loop, name="plmprof-neuron-monitor", daemon=True
        )
        self._thread.start()

    def _read_loop(self) -> None:
        process = self._process
        if process is None or process.stdout is None:
            return
        with contextlib.suppress(OSError, ValueError):
            for line in process.stdout:
                if line.strip():
                    self._accept(line)
        code = process.wait()
        with self._lock:
            self._latest = None
            if not self._closed:
                self._reason = f"{self._executable} exited with code {code}{self._stderr_tail()}"

    def _stderr_tail(self) -> str:
        if self._workdir is None:
            return ""
        try:
            text = (Path(self._workdir.name) / "stderr.txt").read_text(errors="replace").strip()
        except OSError:
            return ""
        return f": {text.splitlines()[-1][:300]}" if text else ""

    def sample(self) -> NeuronSample | None:
        """The latest report (live) or the next recorded one (replay); ``None`` when none."""
        if self._replay is not None:
            with self._lock:
                if not self._replay:
                    return None
                position = self._replay_position
                if position >= len(self._replay):
                    position = 0 if self._cycle else len(self._replay) - 1
                self._replay_position = position + 1
                return self._replay[position]
        if not self._started:
            self.start()
        with self._lock:
            return self._latest

    def close(self) -> None:
        """Stop neuron-monitor and its reader thread. Safe to call more than once."""
        with self._lock:
            self._closed = True
            process, self._process = self._process, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if process is not None:
            _terminate(process)
        if self._thread is not None:
            self._thread.join(timeout=3)
            self._thread = None
        if process is not None and process.stdout is not None:
            with contextlib.suppress(OSError):
                process.stdout.close()
        if self._workdir is not None:
            with contextlib.suppress(OSError):
                self._workdir.cleanup()
            self._workdir = None
        with self._lock:
            self._latest = None
            if self._reason is None and self._replay is None and self._started:
                self._reason = f"{self._executable} closed"

    def __enter__(self) -> NeuronMonitorSampler:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
