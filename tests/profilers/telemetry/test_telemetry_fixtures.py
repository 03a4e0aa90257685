from __future__ import annotations

from pathlib import Path

import pytest

# The tests read the copies under tests/data/neuron; the originals live in shared/ beside the repo.
DATA = Path(__file__).resolve().parents[2] / "data" / "neuron"
SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "neuron"
MONITOR_FILE = "neuron-monitor-inf2.xlarge.jsonl"
EDGE_FILE = "neuron-monitor-edge-cases.jsonl"
LS_FILE = "neuron-ls-inf2.xlarge.json"


@pytest.mark.parametrize("name", [MONITOR_FILE, EDGE_FILE, LS_FILE])
def test_copied_fixture_present(name: str) -> None:
    assert (DATA / name).is_file()


@pytest.mark.parametrize("name", [MONITOR_FILE, EDGE_FILE, LS_FILE])
def test_copied_fixture_matches_shared_original(name: str) -> None:
    original = SHARED / name
    if not original.is_file():
        pytest.skip("shared/ is not beside the repository")
    assert (DATA / name).read_bytes() == original.read_bytes()
