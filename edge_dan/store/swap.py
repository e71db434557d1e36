"""Replacing the database as a whole (create, rekey, restore) so that a crash at any point is safe.

The protocol: build ``store.db.next`` completely, write ``keyfile.next.json``, rename the database
into place (the commit point), then rename the key file into place. On the next open, a leftover
``store.db.next`` means the swap never committed and is rolled back; a leftover
``keyfile.next.json`` alone means it committed and is rolled forward. Neither step needs a key, so
recovery never depends on the passphrase. Every step runs under the exclusive store lock, so no
other process has the old file open while it is replaced.

Operations also leave scratch files while they run (the encrypted copy a backup is made from, the
temporary file of an atomic write). They are deleted when the operation ends; after a crash the
next process that gets the store to itself deletes them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from edge_dan.store.files import disk_error, fsync_path, remove_if_present, write_private
from edge_dan.store.keyfile import KdfParams, KeyFile

KEYFILE = "keyfile.json"
KEYFILE_NEXT = "keyfile.next.json"
DATABASE = "store.db"
DATABASE_NEXT = "store.db.next"
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")
SCRATCH_PREFIX = ".scratch-"
# Scratch databases, and the temporary files of the key files' and sealed snapshots' atomic writes
# (".<name>.<random>.tmp", see files.temp_path). Not settings.json's: that one is written without
# the store lock.
_DEBRIS_PATTERNS = (
    f"{SCRATCH_PREFIX}*",
    f".{SCRATCH_PREFIX}*.tmp",
    ".keyfile*.tmp",
    ".store.db*.tmp",
)

# Builds a complete new database at the given path, encrypted with the given key.
Builder = Callable[[Path, bytes], None]


def scratch_path(home: Path, purpose: str) -> Path:
    return home / f"{SCRATCH_PREFIX}{purpose}-{secrets.token_hex(8)}.db"


def remove_database(path: Path) -> None:
    for suffix in ("", *SQLITE_SIDECARS):
        remove_if_present(path.with_name(path.name + suffix))


def swap_in(
    home: Path,
    *,
    kek: bytes,
    kdf: KdfParams,
    store_id: str,
    build: Builder,
    before_commit: Callable[[], None] | None = None,
) -> None:
    """Replace (or create) the database and its key file; ``before_commit`` closes the old one."""
    next_db, next_key = home / DATABASE_NEXT, home / KEYFILE_NEXT
    key = secrets.token_bytes(32)
    try:
        write_private(next_db, b"")  # 0600 from the start; SQLite gives -wal/-shm the same mode
        build(next_db, key)
        for suffix in SQLITE_SIDECARS:
            remove_if_present(next_db.with_name(next_db.name + suffix))
        KeyFile.wrap(store_id, kdf, kek, key).write(next_key)
    except BaseException:
        rollback(home)
        raise
    if before_commit:
        before_commit()
    try:
        for suffix in SQLITE_SIDECARS:  # the old file is checkpointed and closed: these are empty
            remove_if_present(home / (DATABASE + suffix))
        os.replace(next_db, home / DATABASE)  # commit point
        fsync_path(home)
        os.replace(next_key, home / KEYFILE)
        fsync_path(home)
    except OSError as exc:
        raise disk_error(home / DATABASE, exc) from exc


def rollback(home: Path) -> None:
    remove_database(home / DATABASE_NEXT)
    remove_if_present(home / KEYFILE_NEXT)


def needs_recovery(home: Path) -> bool:
    return (home / DATABASE_NEXT).exists() or (home / KEYFILE_NEXT).exists()


def has_debris(home: Path) -> bool:
    return any(next(home.glob(pattern), None) for pattern in _DEBRIS_PATTERNS)


def recover(home: Path) -> None:
    """Finish or undo an interrupted swap and delete scratch files (needs the exclusive lock)."""
    try:
        if (home / DATABASE_NEXT).exists():
            rollback(home)
        elif (home / KEYFILE_NEXT).exists():
            os.replace(home / KEYFILE_NEXT, home / KEYFILE)
        for pattern in _DEBRIS_PATTERNS:
            for path in home.glob(pattern):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        fsync_path(home)
    except OSError as exc:
        raise disk_error(home, exc) from exc
