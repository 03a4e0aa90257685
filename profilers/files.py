"""The one way plmprof writes a file, and strict JSON.

Every file is checked before anything is opened (``check_target``), written to a temporary file
beside its target and renamed into place, so a crash or a full disk never leaves half a file. A
path that is a symbolic link is refused (a link could point anywhere; plmprof never writes through
one), and an existing file is replaced only when the caller says so (``--force`` on the command
line). A write that fails removes its temporary file and raises ``WriteError`` with one line.

JSON is written strictly: a number that is not finite (NaN, infinity) is ``null``, never the
``NaN``/``Infinity`` tokens that standard JSON readers reject.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any, TextIO

from engines.errors import InvalidInputError, PlmprofError

# A folder with less free space than this is refused before a run starts: a Result takes tens
# of kilobytes, a sweep folder's report and CSV a few more.
MIN_FREE_BYTES = 1 << 20
_NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK)


class WriteError(PlmprofError):
    """A file could not be written (disk full, read-only, permission). Its one line says which."""


def describe(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_target(path: Path, *, overwrite: bool = False, make_parents: bool = True) -> Path:
    """Raise ``InvalidInputError`` unless ``path`` may be written: not a symbolic link, not a
    folder, not an existing file unless ``overwrite``, its parent a folder (or, with
    ``make_parents``, one that can be made)."""
    if not make_parents and not path.parent.is_dir():
        raise InvalidInputError(f"cannot write '{path}': '{path.parent}' is not a folder")
    if path.is_symlink():
        raise InvalidInputError(
            f"'{path}' is a symbolic link; plmprof never writes through one (give the real path)"
        )
    if path.is_dir():
        raise InvalidInputError(f"'{path}' is a folder; give a file name")
    if path.exists() and not overwrite:
        raise InvalidInputError(f"'{path}' exists; add --force to overwrite it")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InvalidInputError(f"cannot write '{path}': '{parent}' is not a folder")
            break
    return path


def check_folder(folder: Path, what: str = "results folder") -> Path:
    """Make ``folder`` and prove a file can be written there, before any work starts: raise
    ``InvalidInputError`` naming the folder when it is a file, read-only, or (nearly) full."""
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"the {what} '{folder}' is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".plmprof-probe-", suffix=".tmp")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise InvalidInputError(f"cannot write to the {what} '{folder}': {describe(exc)}") from None
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise InvalidInputError(
            f"the {what} '{folder}' has only {free // 1024} KiB free; free some space or pick "
            "another folder"
        )
    return folder


def write_text(path: Path, text: str, *, overwrite: bool = False) -> Path:
    return write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def write_bytes(path: Path, data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` by the policy above; returns ``path``."""
    path = Path(path)
    check_target(path, overwrite=overwrite)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise WriteError(f"cannot write '{path}': {describe(exc)}") from None
    try:
        os.fchmod(handle, _new_file_mode())
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        _place(temporary, path, overwrite)
    except FileExistsError:
        raise InvalidInputError(f"'{path}' exists; add --force to overwrite it") from None
    except OSError as exc:
        raise WriteError(f"cannot write '{path}': {describe(exc)}") from None
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)
    return path


def _new_file_mode() -> int:
    """The mode ``open()`` would give a new file (0o666 less the umask): a temporary file is made
    0o600, and every file plmprof writes, Result or export, gets the same ordinary mode."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _place(temporary: str, path: Path, overwrite: bool) -> None:
    """Rename ``temporary`` to ``path``; without ``overwrite`` a hard link makes the name, which
    fails when the name exists (no window where another writer's file is replaced)."""
    if overwrite:
        if path.is_symlink():  # appeared since the check
            raise InvalidInputError(f"'{path}' is a symbolic link; plmprof never writes through it")
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)
    except OSError as exc:
        if isinstance(exc, FileExistsError) or exc.errno not in _NO_HARD_LINKS:
            raise
        if os.path.lexists(path):  # a file system without hard links: check, then rename
            raise FileExistsError(errno.EEXIST, "exists", str(path)) from None
        os.rename(temporary, path)


def open_stream(path: Path, *, overwrite: bool = False) -> TextIO:
    """A text file to stream lines into (``--live-json``): the one file not written through a
    temporary, since readers follow it while it grows. Same checks; opened with ``O_NOFOLLOW``
    and, without ``overwrite``, ``O_EXCL``."""
    check_target(path, overwrite=overwrite, make_parents=False)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        handle = os.open(path, flags, 0o666)
    except FileExistsError:
        raise InvalidInputError(f"'{path}' exists; add --force to overwrite it") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot write '{path}': {describe(exc)}") from None
    return os.fdopen(handle, "w", encoding="utf-8")


def read_text(path: Path) -> str:
    """The text of ``path`` when it is a regular file. Anything else (a FIFO, a device, a
    socket) is refused with ``OSError`` instead of read: reading a FIFO blocks forever."""
    handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(handle, "rb") as stream:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return stream.read().decode("utf-8")


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (lists, tuples and dicts walked)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def dumps(value: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """Strict JSON: non-finite numbers become ``null``; anything else not JSON raises."""
    return json.dumps(finite(value), indent=indent, sort_keys=sort_keys, allow_nan=False)
