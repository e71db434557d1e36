"""The store on the standard library's sqlite3: the database in memory, each commit one sealed file.

Why this shape. SQLCipher encrypts page by page inside SQLite's pager; the standard library's
sqlite3 has no hook there, and a VFS cannot be written in Python. Encrypting each value instead
("per-record AEAD") would break the SQL the owner layer runs: WHERE, ORDER BY, UNIQUE and indexes
on sealed columns see only random bytes. So the database runs in memory (``:memory:``, temporary
tables in memory too, so SQLite never writes a file of its own), and every committed transaction
is persisted as one sealed snapshot (``edge_dan.store.sealed``): serialize, pad, encrypt, write a
temporary file, fsync, rename over ``store.db``, fsync the directory (``files.atomic_write``).

What that gives:

- Nothing in plaintext on disk, ever: SQLite has no file to write; the only files are sealed.
- A commit is acknowledged once its snapshot has been renamed into place and the directory
  flushed; a SIGKILL before that leaves the previous snapshot whole (and an encrypted temporary
  file the next exclusive open deletes). A write that fails (a full disk) puts the previous
  snapshot back in memory and raises, so memory and disk never disagree.
- A wrong key is refused by the key file before this module runs; a damaged, truncated or foreign
  snapshot fails the AEAD tag (``StoreCorrupt``) and nothing is written.
- Two processes: each top-level operation takes an exclusive commit lock (``commit.lock``),
  reloads the snapshot if another process committed since (its generation grew), runs, persists
  if it changed anything and releases the lock; an open transaction keeps the lock until it ends.
  So processes take turns (no concurrent readers as with WAL): one that waits longer than
  ``LOCK_TIMEOUT`` gets ``StoreBusy``. A generation lower than the one this process last saw is a
  rollback of the file and refused (``StoreCorrupt``); across restarts a rollback cannot be seen.

The cost: every commit rewrites the whole store, O(size) (``bench/store.py``).

Whether a statement wrote is learnt from SQLite's authorizer (every INSERT, UPDATE, DELETE, DDL,
pragma that sets what the file holds), with the statement cache off so every statement passes
through it. The authorizer also refuses ATTACH of anything but a memory database (VACUUM INTO
included): an attached file would be plaintext.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edge_dan.errors import StoreCorrupt, StoreError
from edge_dan.store.commitlock import CommitLock
from edge_dan.store.files import atomic_write, disk_error
from edge_dan.store.sealed import HEADER_BYTES, generation_of, seal, unseal

LOCK_NAME = "commit.lock"
LOCK_TIMEOUT = 10.0
_READS = frozenset(
    {
        sqlite3.SQLITE_READ,
        sqlite3.SQLITE_SELECT,
        sqlite3.SQLITE_FUNCTION,
        getattr(sqlite3, "SQLITE_RECURSIVE", 33),
        sqlite3.SQLITE_SAVEPOINT,
    }
)
_MEMORY_NAMES = frozenset({"", ":memory:"})
# The pragmas that change what the database file holds; the others read, or set this connection.
_WRITING_PRAGMAS = frozenset(
    {
        "application_id",
        "auto_vacuum",
        "incremental_vacuum",
        "page_size",
        "schema_version",
        "user_version",
        "writable_schema",
    }
)


class SealedConnection:
    """A sqlite3 connection to the in-memory database that persists each commit, sealed.

    Used like the connection it wraps (``execute``, ``commit``, ``with conn:``...); anything not
    defined here is the wrapped connection's.
    """

    raw: sqlite3.Connection
    path: Path
    generation: int  # of the snapshot the memory holds
    _key: bytes
    _dirty: bool
    _rolled_back: bool
    _lock: CommitLock
    _mutex: threading.RLock
    _depth: int  # how many times this thread holds _mutex for the operation under way

    def __init__(self, raw: sqlite3.Connection, path: Path, key: bytes) -> None:
        vars(self).update(raw=raw, path=path, _key=key, generation=0, _dirty=False)
        vars(self).update(_rolled_back=False, _lock=CommitLock(path.with_name(LOCK_NAME)))
        vars(self).update(_mutex=threading.RLock(), _depth=0)
        raw.set_authorizer(self._authorize)

    # ----- what SQLite is asked to do ------------------------------------------------------
    def _authorize(self, action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
        if action == sqlite3.SQLITE_ATTACH and (arg1 or "") not in _MEMORY_NAMES:
            return sqlite3.SQLITE_DENY  # an attached file would hold plaintext
        if action == sqlite3.SQLITE_TRANSACTION:
            if (arg1 or "").upper() == "ROLLBACK":
                self._rolled_back = True
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA:
            if (arg1 or "").lower() in _WRITING_PRAGMAS and arg2 is not None:
                self._dirty = True
            return sqlite3.SQLITE_OK
        if action in _READS:
            return sqlite3.SQLITE_OK
        self._dirty = True
        return sqlite3.SQLITE_OK

    def __setattr__(self, name: str, value: object) -> None:
        if name in vars(self):
            vars(self)[name] = value
        else:
            setattr(self.raw, name, value)  # isolation_level, row_factory...

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)

    # ----- one top-level operation: lock, catch up, run, persist, unlock ----------------------
    @contextlib.contextmanager
    def _operation(self) -> Iterator[None]:
        # One thread at a time on this connection, for the whole of an open transaction too (the
        # agent reaches the store from worker threads as well as from its loop).
        self._mutex.acquire()
        self._depth += 1
        try:
            if not self._lock.held:
                busy = f"{self.path} stayed locked by another process for too long; try again"
                self._lock.acquire(LOCK_TIMEOUT, busy)
                try:
                    self.catch_up()
                except BaseException:
                    self._unlock()
                    raise
            try:
                yield
            finally:
                if not self.raw.in_transaction:
                    self._finish()
        finally:
            if not self.raw.in_transaction:
                depth, self._depth = self._depth, 0
                for _ in range(depth):
                    self._mutex.release()

    def _finish(self) -> None:
        try:
            if self._rolled_back:
                self._dirty = self._rolled_back = False
            if self._dirty:
                self._persist()
        finally:
            self._unlock()

    def _unlock(self) -> None:
        self._lock.release()

    def catch_up(self) -> None:
        """Load the file if another process committed since this one last read or wrote it."""
        try:
            with self.path.open("rb") as handle:
                head = handle.read(HEADER_BYTES)
        except FileNotFoundError:
            raise StoreCorrupt(f"{self.path} is missing") from None
        except OSError as exc:
            raise StoreError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        if not head and self.generation == 0:
            return  # a database being built: nothing committed yet
        found = generation_of(head, str(self.path))
        if found < self.generation:
            raise StoreCorrupt(
                f"{self.path} was rolled back to an older snapshot (generation {found}, "
                f"this process saw {self.generation})"
            )
        if found > self.generation:
            self.load()

    def load(self) -> None:
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise StoreError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        if not data:
            raise StoreCorrupt(f"{self.path} is empty (0 bytes)")
        generation, image = unseal(data, self._key, str(self.path))
        if image:
            self.deserialize(image)
        self.generation, self._dirty = generation, False

    def deserialize(self, image: bytes, name: str = "main") -> None:
        # SQLite loads an image through an internal ATTACH, which the authorizer would refuse.
        self.raw.set_authorizer(None)
        try:
            self.raw.deserialize(image, name=name)
        finally:
            self.raw.set_authorizer(self._authorize)

    def _persist(self) -> None:
        data = seal(self.image(), self._key, self.generation + 1)
        try:
            atomic_write(self.path, data)
        except StoreError as exc:
            # The commit happened in memory only: put back what the disk holds, so nothing
            # unsaved is ever read as saved.
            self._dirty = False
            with contextlib.suppress(StoreError):
                self.load()
            raise StoreError(f"{exc}; the last change was not saved") from None
        self.generation += 1
        self._dirty = False

    def image(self) -> bytes:
        try:
            return self.raw.serialize()
        except sqlite3.OperationalError:  # a database without a single page yet
            return b""

    # ----- the connection's own calls ----------------------------------------------------------
    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        with self._operation():
            return self.raw.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any) -> sqlite3.Cursor:
        with self._operation():
            return self.raw.executemany(sql, parameters)

    def executescript(self, script: str) -> sqlite3.Cursor:
        with self._operation():
            return self.raw.executescript(script)

    def commit(self) -> None:
        with self._operation():
            self.raw.commit()

    def rollback(self) -> None:
        with self._operation():
            self.raw.rollback()
            self._rolled_back = True

    def cursor(self) -> _Cursor:
        return _Cursor(self, self.raw.cursor())

    def __enter__(self) -> SealedConnection:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.rollback()

    def close(self) -> None:
        try:
            if self.raw.in_transaction:
                self.raw.rollback()
            self.raw.close()
        finally:
            self._unlock()


class _Cursor:
    """A cursor whose statements go through the connection's lock and persistence."""

    def __init__(self, conn: SealedConnection, raw: sqlite3.Cursor) -> None:
        self._conn, self._raw = conn, raw

    def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        with self._conn._operation():
            self._raw.execute(sql, parameters)
        return self

    def executemany(self, sql: str, parameters: Any) -> _Cursor:
        with self._conn._operation():
            self._raw.executemany(sql, parameters)
        return self

    def __iter__(self) -> Iterator[Any]:
        return iter(self._raw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def connect(path: Path, key: bytes) -> SealedConnection:
    """The database sealed at ``path`` (or a new one, if the file is empty), in memory."""
    if len(key) != 32:
        raise StoreError("a database key is 32 bytes")
    raw = sqlite3.connect(":memory:", check_same_thread=False, cached_statements=0)
    for pragma in ("temp_store = MEMORY", "secure_delete = ON", "foreign_keys = ON"):
        raw.execute(f"PRAGMA {pragma}")
    conn = SealedConnection(raw, path, key)
    try:
        conn.catch_up()
    except BaseException:
        raw.close()
        raise
    return conn


def export_database(conn: SealedConnection, target: Path, key: bytes) -> None:
    """Seal everything ``conn`` holds into ``target`` under ``key`` (a new file's generation 1)."""
    with conn._operation():
        image = conn.image()
    try:
        atomic_write(target, seal(image, key, 1))
    except OSError as exc:
        raise disk_error(target, exc) from exc


def integrity_problems(conn: SealedConnection) -> list[str]:
    """SQLite's b-tree check; the bytes themselves were authenticated when the file was read."""
    rows = conn.execute("PRAGMA quick_check").fetchall()
    return [str(r[0]) for r in rows if r[0] != "ok"]


def attach(conn: SealedConnection, alias: str, path: Path, key: bytes) -> None:
    """The database sealed at ``path``, attached in memory as ``alias``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    _, image = unseal(data, key, str(path))
    conn.execute(f"ATTACH DATABASE ':memory:' AS {alias}")
    conn.deserialize(image, name=alias)
