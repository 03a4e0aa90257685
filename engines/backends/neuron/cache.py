"""Compiled Neuron models on disk, keyed by everything that changes what the compiler produces.

Compiling one bucket takes minutes, so each traced module is saved with ``torch.jit.save`` under
a key: the sha256 of a canonical JSON of the model id, the weights' identity, the input shape, the
compiler flags, the SDK and compiler versions, and the model variant (attention, pruning, the
parameter layout). Files are written to a temporary name and renamed, so a reader never sees half
a file and two workers compiling the same bucket cannot corrupt it.

The root is ``$PLMPROF_NEURON_CACHE`` when set, else ``~/.cache/plmprof/neuron``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engines.errors import InvalidInputError

CACHE_ENV = "PLMPROF_NEURON_CACHE"
DEFAULT_CACHE = Path("~/.cache/plmprof/neuron")
# Bump when the traced wrapper, the gelu swap or the key layout changes what a key stands for.
KEY_FORMAT = 1

Saver = Callable[[Any, str], None]
Loader = Callable[[str], Any]


def cache_root(env: Mapping[str, str] | None = None) -> Path:
    """Where compiled models live: ``$PLMPROF_NEURON_CACHE`` or ``~/.cache/plmprof/neuron``."""
    values = os.environ if env is None else env
    configured = values.get(CACHE_ENV, "").strip()
    return Path(configured).expanduser() if configured else DEFAULT_CACHE.expanduser()


def weights_identity(weights: str, seed: int, hub_id: str) -> str:
    """A string that changes whenever the weights a run loads change.

    ``random`` weights are fixed by the seed; a local path by its resolved name, size and
    modification time (every top-level file of a directory); the Hugging Face cache by the
    snapshot revision it resolves to.
    """
    if weights == "random":
        return f"random:{seed}"
    if weights == "cache":
        return f"hf-cache:{hub_id}@{_hub_revision(hub_id) or 'unknown'}"
    path = Path(weights).expanduser()
    try:
        resolved = path.resolve(strict=True)
        if resolved.is_file():
            stat = resolved.stat()
            return f"path:{resolved}:{stat.st_size}:{stat.st_mtime_ns}"
        listing = sorted(
            (entry.name, entry.stat().st_size, entry.stat().st_mtime_ns)
            for entry in resolved.iterdir()
            if entry.is_file()
        )
    except OSError as exc:
        raise InvalidInputError(f"cannot read weights path '{weights}': {exc}") from None
    digest = hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:16]
    return f"path:{resolved}:{digest}"


def _hub_revision(hub_id: str) -> str | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(hub_id, "config.json")
    if not isinstance(found, str):
        return None
    parts = Path(found).parts
    return parts[-2] if len(parts) >= 2 and "snapshots" in parts else None


def structure_fingerprint(model: nn.Module) -> str:
    """A digest of every tensor's name, shape and dtype: changes when pruning removes layers,
    heads or width, or when the parameter layout changes in any other way."""
    state = model.state_dict()
    layout = [f"{name}:{tuple(t.shape)}:{t.dtype}" for name, t in state.items()]
    return hashlib.sha256("\n".join(layout).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class CacheKey:
    """What one compiled bucket depends on. :meth:`digest` is stable across processes."""

    model: str
    weights: str
    rows: int
    tokens: int
    compiler_args: tuple[str, ...]
    sdk_version: str
    compiler_version: str | None
    variant: dict[str, Any] = field(default_factory=dict)
    format: int = KEY_FORMAT

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["compiler_args"] = list(self.compiler_args)
        return data

    def canonical(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), default=str)

    def digest(self) -> str:
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()


class CompileCache:
    """Traced modules under ``root/<model>/<digest>.pt`` with a ``.json`` beside each."""

    def __init__(
        self,
        root: Path | None = None,
        *,
        saver: Saver | None = None,
        loader: Loader | None = None,
    ) -> None:
        self.root = root if root is not None else cache_root()
        self._save = saver or torch.jit.save
        self._load = loader or torch.jit.load

    def path_for(self, key: CacheKey) -> Path:
        return self.root / _safe_name(key.model) / f"{key.digest()}.pt"

    def workdir_for(self, key: CacheKey) -> Path:
        """A scratch directory for ``neuronx-cc`` (kept after a failure, for inspection)."""
        return self.root / "work" / key.digest()[:24]

    @contextlib.contextmanager
    def lock(self, key: CacheKey) -> Iterator[None]:
        """Hold an exclusive lock on ``key`` (so two workers compile a bucket once, not twice).
        Without a writable cache directory there is nothing to share and no lock is taken."""
        path = self.root / "locks" / f"{key.digest()[:24]}.lock"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        except OSError:
            handle = None
        if handle is None:
            yield
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            os.close(handle)

    def load(self, key: CacheKey) -> tuple[Any | None, str | None]:
        """The cached module (``None`` on a miss) and, when a file was there but unreadable,
        why it is being ignored."""
        path = self.path_for(key)
        if not path.is_file():
            return None, None
        try:
            return self._load(str(path)), None
        except Exception as exc:  # a truncated or foreign file: recompile rather than fail
            first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            return None, f"ignored unreadable cache file {path.name} ({first})"

    def store(self, key: CacheKey, module: Any) -> Path:
        """Save ``module`` under ``key`` atomically, with its key as JSON beside it."""
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, lambda tmp: self._save(module, tmp))
        meta = json.dumps(key.to_dict(), indent=2, sort_keys=True, default=str)
        _atomic_write(path.with_suffix(".json"), lambda tmp: Path(tmp).write_text(meta))
        return path


def _atomic_write(target: Path, write: Callable[[str], object]) -> None:
    handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text) or "model"
