"""Preflight, placement and start-up for --device hpu: fail fast, saying what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from engines.backends.hpu.bridge import device_files, spec_startup_env, startup_env
from engines.backends.hpu.checks import check_hpu_run, check_hpu_spec
from engines.detect import available_devices, best_device, hpu_status
from engines.errors import InvalidInputError, UnsupportedError
from engines.placement import place
from engines.preflight import check_runnable
from engines.spec import RunSpec

pytestmark = pytest.mark.hpu


def present() -> bool:
    return True


def one_card() -> list[str]:
    return ["/dev/accel/accel0"]


def test_this_machine_has_no_bridge_and_preflight_names_it() -> None:
    with pytest.raises(UnsupportedError) as raised:
        check_runnable(RunSpec(device="hpu", seq_len=50))
    message = str(raised.value)
    assert message.startswith(
        "--device hpu: the Gaudi PyTorch bridge (habana_frameworks.torch) is not installed"
    )
    assert "not on PyPI" in message and "docs.habana.ai" in message


def test_a_bridge_without_a_card_says_no_device_is_visible() -> None:
    with pytest.raises(UnsupportedError, match=r"--device hpu:1: habana_frameworks.torch is "):
        check_hpu_run(RunSpec(device="hpu:1", seq_len=50), "hpu:1", bridge=present, devices=list)


def test_bridge_and_card_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    check_hpu_run(RunSpec(device="hpu", seq_len=50), "hpu", bridge=present, devices=one_card)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"int8": "dynamic"}, "--int8 dynamic: no int8 path is wired up for Gaudi"),
        ({"attention": "flash_attention_2"}, "CUDA kernel"),
        ({"compile": "max-autotune"}, "inductor mode; on Gaudi torch.compile uses"),
        ({"compile": "default"}, "needs eager mode \\(PT_HPU_LAZY_MODE=0\\): add --hpu-mode eager"),
        ({"hpu_graphs": True, "hpu_mode": "eager"}, "wrap_in_hpu_graph, a lazy-mode API"),
        ({"packing": True, "token_budget": 512}, "Gaudi compiles one graph per shape"),
        ({"mode": "training", "hpu_graphs": True}, "drop --hpu-graphs for --mode train"),
        ({"workers": 2, "devices": ("hpu:0", "hpu:0")}, "hpu:0 given to more than one worker"),
    ],
)
def test_settings_gaudi_cannot_run_are_refused(changes: dict[str, object], words: str) -> None:
    spec = RunSpec(device="hpu", seq_len=50, **changes)  # type: ignore[arg-type]
    with pytest.raises(UnsupportedError, match=words):
        check_hpu_spec(spec)


def test_unknown_hpu_mode_is_an_input_error() -> None:
    with pytest.raises(InvalidInputError, match="HPU mode 'graph' is not one of lazy, eager"):
        RunSpec(device="hpu", hpu_mode="graph")


def test_the_mode_is_fixed_in_the_worker_environment_before_any_import() -> None:
    assert startup_env("lazy") == {"PT_HPU_LAZY_MODE": "1"}
    assert startup_env("eager") == {"PT_HPU_LAZY_MODE": "0"}
    spec = RunSpec(device="hpu", hpu_mode="eager").to_dict()
    assert spec_startup_env(spec, "hpu") == {"PT_HPU_LAZY_MODE": "0"}
    assert spec_startup_env(spec, "cpu") == {}


def test_worker_main_sets_the_mode_then_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import engines.runner
    from engines.messages import WorkerTask
    from engines.worker import worker_main

    seen: dict[str, str | None] = {}

    def fake_run(task: WorkerTask, send: object, stop: object) -> None:
        seen["mode"] = os.environ.get("PT_HPU_LAZY_MODE")
        seen["module"] = os.environ.get("HLS_MODULE_ID")

    class Pipe:
        def send(self, message: object) -> None: ...

        def close(self) -> None: ...

    class Stop:
        def is_set(self) -> bool:
            return False

    monkeypatch.setattr(engines.runner, "run_worker", fake_run)
    monkeypatch.delenv("PT_HPU_LAZY_MODE", raising=False)
    monkeypatch.setattr("signal.signal", lambda *args: None)
    spec = RunSpec(device="hpu:3", hpu_mode="eager").to_dict()
    task = WorkerTask(spec, 0, "hpu", {"HLS_MODULE_ID": "3"})
    try:
        worker_main(task, Pipe(), Stop())  # type: ignore[arg-type]
    finally:
        os.environ.pop("HLS_MODULE_ID", None)
        os.environ.pop("PT_HPU_LAZY_MODE", None)
    assert seen == {"mode": "0", "module": "3"}


def test_placement_pins_each_worker_to_a_module() -> None:
    assert place("hpu:2", 0, 1, {}).env == {"HLS_MODULE_ID": "2"}
    assert place("hpu:1", 0, 1, {"HABANA_VISIBLE_MODULES": "4,5,6"}).env == {"HLS_MODULE_ID": "5"}
    assert place("hpu", 1, 2, {}).env == {"HLS_MODULE_ID": "1"}
    assert place("hpu", 0, 1, {}).env == {}
    assert place("hpu:2", 0, 1, {}).device == "hpu"


def test_device_nodes_are_the_habanalabs_drivers_only(tmp_path: Path) -> None:
    dev, sys_class = tmp_path / "dev", tmp_path / "sys"
    (dev / "accel").mkdir(parents=True)
    for name in ("accel0", "accel1"):
        (dev / "accel" / name).touch()
    (dev / "hl0").touch()
    (dev / "hlx").touch()
    for name, driver in (("accel0", "habanalabs"), ("accel1", "intel_vpu")):
        (tmp_path / "drivers" / driver).mkdir(parents=True, exist_ok=True)
        (sys_class / name / "device").mkdir(parents=True)
        (sys_class / name / "device" / "driver").symlink_to(tmp_path / "drivers" / driver)
    assert device_files(dev, sys_class) == [str(dev / "accel" / "accel0"), str(dev / "hl0")]


def test_detection_offers_hpu_only_with_bridge_and_card(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("engines.detect.cuda_devices", list)
    monkeypatch.setattr("engines.detect.neuron_sdk", lambda: (None, "no"))
    assert hpu_status()[0] is False and best_device() == "cpu"
    assert "hpu" not in available_devices()
    monkeypatch.setattr("engines.detect.bridge_installed", present)
    monkeypatch.setattr("engines.detect.device_files", one_card)
    assert hpu_status() == (True, "habana_frameworks.torch installed; devices /dev/accel/accel0")
    assert best_device() == "hpu"
    assert available_devices() == ["cpu", "hpu"]
