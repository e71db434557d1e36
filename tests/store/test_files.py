"""Writing files: nothing planted in the directory is ever written through (issue #14)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge_dan.errors import StoreError
from edge_dan.store import files
from edge_dan.store.files import atomic_write, write_private


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim"
    path.write_bytes(b"precious")
    return path


def test_atomic_write_ignores_a_symlink_planted_at_the_old_temporary_name(
    tmp_path: Path, victim: Path
) -> None:
    # The name the temporary file used to have, predictable from the pid.
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / f".out.backup.{os.getpid()}.tmp").symlink_to(victim)
    atomic_write(shared / "out.backup", b"backup")
    assert victim.read_bytes() == b"precious"
    assert (shared / "out.backup").read_bytes() == b"backup"
    assert (shared / "out.backup").stat().st_mode & 0o777 == 0o600


def test_atomic_write_never_opens_an_existing_temporary_name(
    tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Even if someone guessed the random name: exclusive creation refuses to write through it.
    guessed = tmp_path / ".out.guessed.tmp"
    monkeypatch.setattr(files, "temp_path", lambda path: guessed)
    guessed.symlink_to(victim)
    with pytest.raises(StoreError, match="cannot write"):
        atomic_write(tmp_path / "out", b"data")
    assert victim.read_bytes() == b"precious"
    assert guessed.is_symlink()  # not ours: left alone
    assert not (tmp_path / "out").exists()


def test_temporary_names_are_unpredictable(tmp_path: Path) -> None:
    names = {files.temp_path(tmp_path / "out").name for _ in range(100)}
    assert len(names) == 100 and all(n.startswith(".out.") for n in names)


def test_write_private_refuses_a_symlink_and_leaves_what_was_there(
    tmp_path: Path, victim: Path
) -> None:
    (tmp_path / "new").symlink_to(victim)
    with pytest.raises(StoreError):
        write_private(tmp_path / "new", b"data")
    assert victim.read_bytes() == b"precious" and (tmp_path / "new").is_symlink()
