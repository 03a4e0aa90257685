"""Preflight for --device neuron: fail fast, saying what is missing and how to get it."""

from __future__ import annotations

import pytest

from engines.backends.neuron.checks import check_neuron_available, check_neuron_run
from engines.errors import UnsupportedError
from engines.preflight import check_runnable
from engines.spec import RunSpec


def sdk_missing() -> tuple[str | None, str]:
    return None, "torch-neuronx not importable (No module named 'torch_neuronx')"


def sdk_present() -> tuple[str | None, str]:
    return "2.9.0.2.13", "torch-neuronx 2.9.0.2.13"


def test_without_the_sdk_preflight_names_both_ways_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("engines.backends.neuron.checks.neuron_sdk", sdk_missing)
    with pytest.raises(UnsupportedError) as raised:
        check_runnable(RunSpec(device="neuron", seq_len=50))
    message = str(raised.value)
    assert message.startswith("--device neuron: torch-neuronx not importable")
    assert "Deep Learning AMI (DLAMI)" in message
    assert "--extra-index-url https://pip.repos.neuron.amazonaws.com" in message
    assert "placeholder" in message


def test_this_machine_has_no_neuron_sdk() -> None:
    # The real probe on this machine (no torch-neuronx here): a clear refusal, no traceback.
    with pytest.raises(UnsupportedError, match=r"--device neuron:3: .*pip\.repos\.neuron"):
        check_runnable(RunSpec(device="neuron:3", seq_len=50))


def test_sdk_without_a_device_points_at_plmprof_compile() -> None:
    with pytest.raises(UnsupportedError) as raised:
        check_neuron_available("neuron", sdk=sdk_present, device_files=list)
    assert "torch-neuronx 2.9.0.2.13 is installed but no Neuron device is visible" in str(
        raised.value
    )
    assert "plmprof compile" in str(raised.value)


def test_sdk_and_device_pass_and_the_workload_is_planned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("engines.backends.neuron.checks.neuron_sdk", sdk_present)
    monkeypatch.setattr(
        "engines.backends.neuron.checks.neuron_device_files", lambda: ["/dev/neuron0"]
    )
    planned = check_runnable(RunSpec(device="neuron", workers=2, seq_len=50, num_sequences=4))
    assert planned.summary.sequences == 4


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"int8": "dynamic"}, "--int8 dynamic: Neuron has no documented int8 path"),
        ({"int8": "weight-only"}, "--int8 weight-only"),
        ({"token_budget": 1024}, "--token-budget gives each batch its own shape"),
        ({"compile": "max-autotune"}, "torch.compile"),
        ({"attention": "flash_attention_2"}, "CUDA kernel"),
    ],
)
def test_settings_neuron_cannot_run_fail_in_preflight(
    changes: dict[str, object], words: str
) -> None:
    spec = RunSpec(device="neuron", seq_len=50, **changes)  # type: ignore[arg-type]
    with pytest.raises(UnsupportedError, match=words):
        check_neuron_run(spec, "neuron", sdk=sdk_present, device_files=lambda: ["/dev/neuron0"])
