"""``plmprof run --device hpu`` on a machine without Gaudi: one line naming what is missing."""

from __future__ import annotations

import pytest

from engines.detect import hpu_status
from tui.cli import invoke

pytestmark = [
    pytest.mark.hpu,
    pytest.mark.skipif(hpu_status()[0], reason="a Gaudi is usable here"),
]


def _fail(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = invoke(["run", *argv, "--seq-len", "30", "--results-dir", "/nonexistent-never-written"])
    captured = capsys.readouterr()
    text = captured.err + captured.out
    assert code == 2, text
    assert "Traceback" not in text
    return " ".join(text.split())


def test_run_on_hpu_names_the_missing_bridge(capsys: pytest.CaptureFixture[str]) -> None:
    text = _fail(capsys, "--device", "hpu")
    assert text.startswith(
        "error: --device hpu: the Gaudi PyTorch bridge (habana_frameworks.torch) is not installed"
    )
    assert "docs.habana.ai" in text


def test_a_setting_gaudi_cannot_run_is_named_first(capsys: pytest.CaptureFixture[str]) -> None:
    text = _fail(capsys, "--device", "hpu:0", "--compile", "default")
    assert "needs eager mode (PT_HPU_LAZY_MODE=0): add --hpu-mode eager" in text


def test_an_unknown_mode_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert "HPU mode 'fast' is not one of lazy, eager" in _fail(
        capsys, "--device", "hpu", "--hpu-mode", "fast"
    )
