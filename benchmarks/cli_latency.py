"""CPU time and wall time of the commands a new user types first, each in a fresh process.

    python benchmarks/cli_latency.py            # 5 rounds
    python benchmarks/cli_latency.py --rounds 9

Rounds are interleaved (every command once per round), so a burst of load on a shared machine
touches all commands alike. CPU time is user + system of the child process, read from
``wait4``; it is the figure the goal "well under a second" is about.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

COMMANDS: list[tuple[str, ...]] = [
    ("--help",),
    ("models",),
    ("devices",),
    ("run", "--bogus"),
    ("run", "--model", "esm2_650M"),
    ("run", "--dtype", "fp8"),
    ("run", "--fasta", "/nonexistent.fasta"),
    ("sweep", "--bogus"),
    ("report", "/nonexistent-folder"),
]


def measure(argv: tuple[str, ...]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``plmprof argv`` in a fresh interpreter."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", "from tui.cli import main; main()", *argv],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, _, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - began
    return usage.ru_utime + usage.ru_stime, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cpu: dict[tuple[str, ...], list[float]] = {c: [] for c in COMMANDS}
    wall: dict[tuple[str, ...], list[float]] = {c: [] for c in COMMANDS}
    for _ in range(args.rounds):
        for argv in COMMANDS:
            used, took = measure(argv)
            cpu[argv].append(used)
            wall[argv].append(took)
    print(f"plmprof commands, {args.rounds} interleaved rounds, {os.cpu_count()} logical CPUs")
    print(f"{'command':<40} {'CPU s median':>12} {'min-max':>11} {'wall s median':>13}")
    for argv in COMMANDS:
        label = "plmprof " + " ".join(argv)
        spread = f"{min(cpu[argv]):.2f}-{max(cpu[argv]):.2f}"
        print(
            f"{label:<40} {statistics.median(cpu[argv]):>12.2f} {spread:>11} "
            f"{statistics.median(wall[argv]):>13.2f}"
        )


if __name__ == "__main__":
    main()
