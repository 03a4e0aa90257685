"""plmprof never opens a network connection: the Hugging Face libraries are switched offline in
every plmprof process (the command, the app and each spawned worker) before they are imported.

``from_pretrained(..., local_files_only=True)`` alone is not enough: with the hub online, the
hub client still resolves and contacts its host on some paths. ``HF_HUB_OFFLINE`` is read once,
when ``huggingface_hub`` is first imported, so it is set from ``engines/__init__`` (the first
plmprof module any process imports). A user who exported one of these as ``0`` is overridden:
plmprof downloads nothing, ever (its weights come from ``--weights random``, the local cache or
a local path).
"""

from __future__ import annotations

import os

OFFLINE_ENV: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_UPDATE_CHECK": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
}


def go_offline() -> None:
    """Set the switches in this process's environment (inherited by the processes it starts)."""
    os.environ.update(OFFLINE_ENV)
