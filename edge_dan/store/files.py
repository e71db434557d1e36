"""File-system helpers for the store: private permissions, atomic replacement.

Every file the store writes is created 0600 inside a 0700 directory, and small metadata files are
replaced atomically (write a temporary file, fsync, rename, fsync the directory) so a crash leaves
either the old or the new version, never a torn one.

Every file is created exclusively (``O_EXCL | O_NOFOLLOW``): a name that already exists, or a
symlink planted under it, makes the write fail instead of writing through it. The temporary file of
an atomic write has an unpredictable name (``secrets.token_hex``), so in a directory others can
write to (an export next to other people's files) nobody can plant anything under it beforehand.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path

from edge_dan.errors import StoreError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
# Create, never open what is there: O_EXCL fails on any existing name, O_NOFOLLOW on a symlink.
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
TEMP_SUFFIX = ".tmp"


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if needed and make it 0700."""
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        if path.stat().st_mode & 0o777 != PRIVATE_DIR:
            path.chmod(PRIVATE_DIR)
    except OSError as exc:
        raise StoreError(f"cannot use {path} as the edge_dan home: {exc.strerror}") from exc


def fsync_path(path: Path) -> None:
    """Flush ``path``, a file or a directory (a rename is durable once its directory is)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` (which must not exist) as 0600 and write ``data`` durably."""
    try:
        fd = create_private(path)
    except OSError as exc:
        raise disk_error(path, exc) from exc
    try:
        _write_fd(fd, data)
    except OSError as exc:
        remove_if_present(path)
        raise disk_error(path, exc) from exc


def create_private(path: Path) -> int:
    """A new file at ``path``, 0600, open for writing; ``OSError`` if anything is there already
    (a symlink included)."""
    return os.open(path, _CREATE_NEW, PRIVATE_FILE)


def temp_path(path: Path) -> Path:
    """An unpredictable name beside ``path`` for its next version (``.NAME.<random>.tmp``)."""
    return path.with_name(f".{path.name}.{secrets.token_hex(16)}{TEMP_SUFFIX}")


def _write_fd(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as handle:  # a buffered file loops over short writes for us
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new content."""
    tmp = temp_path(path)
    try:
        fd = create_private(tmp)
    except OSError as exc:  # nothing of ours there to remove: never unlink what someone else made
        raise disk_error(path, exc) from exc
    try:
        _write_fd(fd, data)
        os.replace(tmp, path)
        fsync_path(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise disk_error(path, exc) from exc


def disk_error(path: Path, exc: OSError) -> StoreError:
    """A readable error for an OS failure while writing ``path``."""
    if exc.errno == errno.ENOSPC:
        return StoreError(f"the disk is full while writing {path}; nothing was changed")
    return StoreError(f"cannot write {path}: {exc.strerror or exc}")


def remove_if_present(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
