"""plmprof's one file-writing policy (``profilers.files``): checked first, temporary file and
rename, never through a symbolic link, never over a file without ``overwrite``, no temporary
file left when a write fails; regular files only when reading; strict JSON."""

from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from engines.errors import InvalidInputError
from profilers import files
from profilers.files import (
    WriteError,
    check_folder,
    dumps,
    open_stream,
    read_text,
    write_bytes,
    write_text,
)
from profilers.report import load_folder


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_new_file_is_written_and_no_temporary_is_left(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "out.json"
    assert write_text(target, "{}\n") == target
    assert target.read_text() == "{}\n"
    assert _leftovers(target.parent) == []


def test_an_existing_file_is_kept_unless_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out.md"
    target.write_text("the user's own notes")
    with pytest.raises(InvalidInputError, match="exists; add --force"):
        write_text(target, "new")
    assert target.read_text() == "the user's own notes"
    write_text(target, "new", overwrite=True)
    assert target.read_text() == "new"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_symbolic_link_is_never_written_through(tmp_path: Path, overwrite: bool) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    with pytest.raises(InvalidInputError, match="symbolic link"):
        write_text(link, "clobbered", overwrite=overwrite)
    with pytest.raises(InvalidInputError, match="symbolic link"):
        open_stream(link, overwrite=overwrite)
    assert victim.read_text() == "precious"
    assert link.is_symlink()
    assert _leftovers(tmp_path) == []


def test_a_dangling_symbolic_link_is_refused_too(tmp_path: Path) -> None:
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "would-be-created")
    with pytest.raises(InvalidInputError, match="symbolic link"):
        write_text(link, "x")
    assert not (tmp_path / "would-be-created").exists()


def test_a_folder_or_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(InvalidInputError, match="is a folder"):
        write_text(tmp_path / "folder", "x", overwrite=True)
    (tmp_path / "plain").write_text("x")
    with pytest.raises(InvalidInputError, match="is not a folder"):
        write_text(tmp_path / "plain" / "out.json", "x")


def test_a_full_disk_raises_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *_: object) -> None:
            self.handle.close()

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    with pytest.raises(WriteError) as caught:
        write_text(tmp_path / "result.json", "{}")
    target = tmp_path / "result.json"
    assert str(caught.value) == f"cannot write '{target}': No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rename_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(files.os, "replace", refuse)
    monkeypatch.setattr(files.os, "link", refuse)
    for overwrite in (False, True):
        with pytest.raises(WriteError, match="Read-only file system"):
            write_bytes(tmp_path / "plot.png", b"\x89PNG", overwrite=overwrite)
    assert list(tmp_path.iterdir()) == []


def test_without_hard_links_the_name_is_still_never_taken_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*_: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(files.os, "link", no_links)
    write_text(tmp_path / "a.json", "first")
    assert (tmp_path / "a.json").read_text() == "first"
    with pytest.raises(InvalidInputError, match="exists"):
        write_text(tmp_path / "a.json", "second")
    assert (tmp_path / "a.json").read_text() == "first"
    assert _leftovers(tmp_path) == []


def test_two_writers_racing_for_one_name_never_replace_each_other(tmp_path: Path) -> None:
    target = tmp_path / "point.json"
    outcomes: list[str] = []

    def write(text: str) -> None:
        try:
            write_text(target, text)
            outcomes.append(text)
        except InvalidInputError:
            outcomes.append("refused")

    threads = [threading.Thread(target=write, args=(f"writer {i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o != "refused"]
    assert len(winners) == 1
    assert target.read_text() == winners[0]
    assert _leftovers(tmp_path) == []


def test_the_results_folder_is_checked_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = check_folder(tmp_path / "new" / "results")
    assert made.is_dir() and list(made.iterdir()) == []
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(InvalidInputError, match="is a file, not a folder"):
        check_folder(tmp_path / "a-file")

    def full(_: object) -> Any:
        return type("Usage", (), {"free": 4096})()

    monkeypatch.setattr(files.shutil, "disk_usage", full)
    with pytest.raises(InvalidInputError, match="has only 4 KiB free"):
        check_folder(made)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_results_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(InvalidInputError, match="cannot write to the results folder"):
            check_folder(folder)
    finally:
        folder.chmod(0o755)


def test_a_stream_is_opened_only_where_allowed(tmp_path: Path) -> None:
    target = tmp_path / "live.jsonl"
    target.write_text("earlier run\n")
    with pytest.raises(InvalidInputError, match="exists; add --force"):
        open_stream(target)
    assert target.read_text() == "earlier run\n"
    with open_stream(target, overwrite=True) as stream:
        stream.write("{}\n")
    assert target.read_text() == "{}\n"
    with pytest.raises(InvalidInputError, match="is not a folder"):
        open_stream(tmp_path / "missing" / "live.jsonl")


def test_a_fifo_is_refused_at_once_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "result.json"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        read_text(fifo)  # reading it would block forever: no writer ever comes
    loaded = load_folder(tmp_path, required=False)
    assert [name for name, _ in loaded.unreadable] == ["result.json"]
    assert "not a regular file" in loaded.unreadable[0][1]


def test_json_is_strict_and_non_finite_numbers_are_null() -> None:
    text = dumps({"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5], "c": (2.0,)})
    assert json.loads(text) == {"a": None, "b": [None, None, 1.5], "c": [2.0]}
    assert "NaN" not in text and "Infinity" not in text
    with pytest.raises(TypeError):
        dumps({"not json": object()})


def test_every_written_file_gets_the_mode_open_would_give(tmp_path: Path) -> None:
    """Results and exports alike: 0o666 less the umask, not the temporary file's 0o600."""
    old = os.umask(0o022)
    try:
        written = write_text(tmp_path / "result.json", "{}")
        with open_stream(tmp_path / "live.jsonl") as stream:
            stream.write("{}\n")
        os.umask(0o077)
        private = write_text(tmp_path / "private.json", "{}")
    finally:
        os.umask(old)
    assert (written.stat().st_mode & 0o777) == 0o644
    assert ((tmp_path / "live.jsonl").stat().st_mode & 0o777) == 0o644
    assert (private.stat().st_mode & 0o777) == 0o600
