"""Listing, help and every error that needs no model answer without loading torch or transformers.

Each case runs the command line in a fresh interpreter (the only honest way to see what a command
imports) and asserts on its exit code, its message and the modules it left loaded. How long these
paths take is printed by ``benchmarks/cli_latency.py``, not asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers")

_PROBE = f"""
import json, sys
from tui.cli import invoke
code = invoke(sys.argv[1:])
sys.stdout.flush()
heavy = [m for m in {HEAVY!r} if m in sys.modules]
print(json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""


def run_light(*argv: str) -> tuple[int, list[str], str]:
    """(exit code, heavy modules loaded, everything printed) for ``plmprof argv``."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "80", "PATH": "/usr/bin:/bin", "HOME": str(REPO)},
    )
    *text, last = done.stderr.rstrip("\n").split("\n")
    report = json.loads(last)
    return report["code"], report["heavy"], done.stdout + "\n".join(text)


CASES = [
    (("--help",), 0, "Profile protein language models"),
    (("run", "--help"), 0, "--batch-size"),
    (("models",), 0, "esm2_t33_650M"),
    (("devices",), 0, "logical cores"),
    (("run", "--bogus"), 2, "No such option: --bogus"),
    (("run", "--model", "esm2_650M"), 2, "unknown model 'esm2_650M'"),
    (("run", "--dtype", "fp8"), 2, "dtype 'fp8' is not one of"),
    (("run", "--batch-size", "0"), 2, "batch size must be greater than 0"),
    (("run", "--lr", "nan"), 2, "--lr must be a finite number (got 'nan')"),
    (("run", "--memory-limit", "lots"), 2, "cannot read memory size 'lots'"),
    (("run", "--fasta", "/nonexistent.fasta"), 2, "FASTA file '/nonexistent.fasta' does not exist"),
    (("run", "--seq-len", "64", "--lengths", "proteome"), 2, "give one workload"),
    (("compile", "--model", "nope"), 2, "unknown model 'nope'"),
    (("sweep", "--bogus"), 2, "No such option: --bogus"),
    (("sweep", "--grid", "/nonexistent.toml"), 2, "does not exist"),
    (("report", "/nonexistent-folder"), 2, "does not exist"),
    (
        ("report", "/nonexistent-folder", "--sort", "speed"),
        2,
        "--sort 'speed' is not one of cost, cost-residues, throughput,",
    ),
    (("compare", "/nonexistent-a.json", "/nonexistent-b.json"), 2, "does not exist"),
    (("--results-dir", "/tmp/never", "run"), 2, "before the command is for the interactive app"),
]


@pytest.mark.parametrize(("argv", "code", "words"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_answers_without_torch(argv: tuple[str, ...], code: int, words: str) -> None:
    got, heavy, text = run_light(*argv)
    assert got == code, text
    assert words in " ".join(text.split()), text
    assert "Traceback" not in text
    assert heavy == [], f"plmprof {' '.join(argv)} imported {heavy}"


@pytest.mark.parametrize("command", ["run", "sweep", "compile", "report"])
def test_help_names_values_not_types_of_switches(command: str) -> None:
    code, _, text = run_light(command, "--help")
    assert code == 0
    assert "<bool>" not in text
    if command == "run":
        assert "--autocast / --no-autocast" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_models_fit_80_columns_uncut() -> None:
    """Every id and parameter count appears whole, and no line is wider than the terminal."""
    from engines.catalog import MODELS

    code, _, text = run_light("models")
    assert code == 0
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    for info in MODELS.values():
        row = next(line for line in lines if line.split()[:1] == [info.id])
        assert f"{info.expected_params:,}" in row.split()


def test_the_probe_sees_torch_when_points_are_checked(tmp_path: Path) -> None:
    """The probe can fail: a dry run checks each point on its device, which loads torch."""
    code, heavy, text = run_light("sweep", "-b", "1", "--dry-run", "-o", str(tmp_path / "s"))
    assert code == 0, text
    assert "torch" in heavy
