"""plmprof opens no network connection: a ``--weights cache`` run through the real command, its
spawned worker included, under an audit hook that records (and blocks) every attempt to resolve a
host name or connect an internet socket, in every Python process started."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engines.builders import build_model
from engines.catalog import MODELS

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
# Loaded by every Python process that has this folder on PYTHONPATH (``site`` imports it).
GUARD = """
import os, socket, sys

_LOG = os.environ["PLMPROF_NETWORK_LOG"]
_NAMES = ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
          "socket.gethostbyaddr")


def _guard(event, args):
    internet = event == "socket.connect" and getattr(args[0], "family", None) in (
        socket.AF_INET, socket.AF_INET6)
    if internet or event in _NAMES:
        with open(_LOG, "a") as log:
            shown = args[1:] if event == "socket.connect" else args  # not the socket object
            log.write(f"{os.getpid()} {event} {shown!r}\\n")
        raise OSError("network access blocked by the plmprof offline test")


sys.addaudithook(_guard)
"""


@pytest.fixture
def guarded_env(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(GUARD)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO)])
    env["PLMPROF_NETWORK_LOG"] = str(tmp_path / "network.log")
    env["HF_HOME"] = str(tmp_path / "hf")
    return env


def _python(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def test_the_guard_catches_a_connection(guarded_env: dict[str, str], tmp_path: Path) -> None:
    """The test below can fail: an attempt is seen and logged, in a child process too."""
    done = _python(
        "import socket\n"
        "for attempt in (lambda: socket.socket().connect(('192.0.2.1', 9)),\n"
        "                lambda: socket.getaddrinfo('huggingface.co', 443)):\n"
        "    try: attempt()\n"
        "    except OSError as e: print(e)",
        guarded_env,
        tmp_path,
    )
    assert done.stdout.count("blocked by the plmprof offline test") == 2, done.stderr
    log = (tmp_path / "network.log").read_text()
    assert "socket.connect (('192.0.2.1', 9),)" in log
    assert "socket.getaddrinfo ('huggingface.co', 443" in log


def _cache_esm2_t6(hf_home: Path) -> None:
    """A local Hugging Face cache holding esm2_t6_8M as the hub lays it out."""
    info = MODELS["esm2_t6_8M"]
    repo = hf_home / "hub" / f"models--{info.hub_id.replace('/', '--')}"
    revision = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    build_model(info, attention="eager").module.save_pretrained(repo / "snapshots" / revision)


@pytest.mark.parametrize("cached", ["complete", "config-only", "nothing"])
def test_a_cache_run_opens_no_connection(
    guarded_env: dict[str, str], tmp_path: Path, cached: str
) -> None:
    """Before the offline switches, a model missing from the cache (or cached without weights)
    made the hub client resolve huggingface.co from the worker."""
    hf_home = Path(guarded_env["HF_HOME"])
    if cached != "nothing":
        _cache_esm2_t6(hf_home)
    if cached == "config-only":
        (weights,) = hf_home.glob("hub/*/snapshots/*/model.safetensors")
        weights.unlink()
    exe = shutil.which("plmprof")
    command = [exe] if exe else [sys.executable, "-c", "from tui.cli import main; main()"]
    run = subprocess.run(
        [*command, "run", "--weights", "cache", "--seq-len", "16", "--batch-size", "1",
         "--duration", "0.2", "--min-iters", "2", "--warmup", "0", "--output", "r.json"],
        env=guarded_env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    log = tmp_path / "network.log"
    assert not log.exists(), log.read_text()
    assert "Traceback" not in run.stderr
    if cached != "complete":
        assert run.returncode == 2, run.stderr
        assert "plmprof never downloads weights" in " ".join(run.stderr.split())
        return
    assert run.returncode == 0, run.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["status"] == "ok"
    assert result["spec"]["weights"] == "cache"


def test_every_plmprof_process_is_offline_before_transformers_loads(
    guarded_env: dict[str, str], tmp_path: Path
) -> None:
    guarded_env["HF_HUB_OFFLINE"] = "0"  # a user's setting does not switch plmprof online
    done = _python(
        "import multiprocessing, os\n"
        "import tui.cli\nimport transformers\nimport huggingface_hub.constants as c\n"
        "if __name__ == '__main__':\n"
        "    with multiprocessing.get_context('spawn').Pool(1) as workers:\n"
        "        child = workers.apply(os.getenv, ('HF_HUB_OFFLINE',))\n"
        "    print(c.HF_HUB_OFFLINE, c.is_offline_mode(), child)",
        guarded_env,
        tmp_path,
    )
    assert done.stdout.split() == ["True", "True", "1"], done.stderr
