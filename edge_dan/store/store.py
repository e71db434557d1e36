"""The owner's encrypted store: a SQLCipher database in a private home directory.

Files in the home (all 0600, the directory 0700):

- ``keyfile.json``: the database key wrapped under the passphrase (see ``keyfile``).
- ``store.db`` (and SQLite's ``-wal``/``-shm``): the SQLCipher database.
- ``lock``: the advisory lock that keeps whole-file swaps away from open readers.
- ``settings.json``: pre-unlock settings only (see ``home``).

Replacing the database as a whole (create, rekey, import) follows one crash-safe protocol: build
``store.db.next`` completely, write ``keyfile.next.json``, rename the database into place (the
commit point), then rename the key file into place. On open, a leftover ``store.db.next`` means the
swap never committed and is rolled back; a leftover ``keyfile.next.json`` alone means it committed
and is rolled forward. Both steps need no key, so recovery never depends on the passphrase.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from edge_dan.errors import StoreCorrupt, StoreError, StoreExists, StoreNotFound
from edge_dan.store import schema
from edge_dan.store.files import (
    StoreLock,
    disk_error,
    ensure_private_dir,
    fsync_dir,
    fsync_file,
    remove_if_present,
    write_private,
)
from edge_dan.store.keyfile import DEFAULT_UNLOCK_SECONDS, KdfParams, KeyFile, calibrate
from edge_dan.store.sqlcipher import (
    Connection,
    attach_sql,
    blob_key,
    connect,
    integrity_problems,
    translated,
)

if TYPE_CHECKING:
    import sqlite_utils

KEYFILE = "keyfile.json"
KEYFILE_NEXT = "keyfile.next.json"
DATABASE = "store.db"
DATABASE_NEXT = "store.db.next"
LOCKFILE = "lock"
LOCK_TIMEOUT = 10.0
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")

# Builds a complete new database at the given path, encrypted with the given key.
Builder = Callable[[Path, bytes], None]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Store:
    """An unlocked store. Use ``Store.create`` or ``Store.open``; close it (or use ``with``)."""

    def __init__(
        self, home: Path, conn: Connection, keyfile: KeyFile, kek: bytes, lock: StoreLock
    ) -> None:
        self.home = home
        self.conn = conn
        self._keyfile = keyfile
        self._kek = kek  # kept while open so rekey can wrap a new key; never written anywhere
        self._lock = lock
        self._db: sqlite_utils.Database | None = None

    # ----- paths and state -------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.home / DATABASE

    @property
    def store_id(self) -> str:
        return self._keyfile.store_id

    @property
    def kdf(self) -> KdfParams:
        return self._keyfile.kdf

    @staticmethod
    def exists(home: Path) -> bool:
        return (home / KEYFILE).exists() or (home / KEYFILE_NEXT).exists()

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils on the same encrypted connection."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    # ----- lifecycle -------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        home: Path,
        passphrase: str,
        *,
        kdf: KdfParams | None = None,
        unlock_seconds: float = DEFAULT_UNLOCK_SECONDS,
        builder: Builder | None = None,
        store_id: str | None = None,
    ) -> Store:
        """Create a new store in ``home``; ``builder`` may fill the database (restore)."""
        if not passphrase:
            raise StoreError("the passphrase must not be empty")
        if cls.exists(home):  # checked again under the lock; this spares waiting for it
            raise StoreExists(f"{home} already holds a store")
        ensure_private_dir(home)
        lock = StoreLock(home / LOCKFILE)
        lock.acquire(exclusive=True, timeout=LOCK_TIMEOUT)
        try:
            _recover(home)
            if cls.exists(home) or (home / DATABASE).exists():
                raise StoreExists(f"{home} already holds a store")
            kdf = kdf or calibrate(unlock_seconds)
            kek = kdf.derive(passphrase)
            store_id = store_id or secrets.token_hex(16)
            build = builder or _fresh_database(store_id)
            _swap_in(home, kek=kek, kdf=kdf, store_id=store_id, build=build)
        except BaseException:
            lock.release()
            raise
        lock.acquire(exclusive=False, timeout=LOCK_TIMEOUT)
        return cls._unlock(home, lock, lambda kf: (kek, kf.unwrap(kek)), check=False)

    @classmethod
    def open(cls, home: Path, passphrase: str, *, check: bool = True) -> Store:
        """Unlock the store in ``home``. ``check`` verifies every page before use."""
        if not (home / LOCKFILE).exists() and not cls.exists(home):
            raise StoreNotFound(f"no store in {home}; create one with 'edge-dan init'")
        lock = StoreLock(home / LOCKFILE)
        lock.acquire(exclusive=False, timeout=LOCK_TIMEOUT)
        try:
            if (home / DATABASE_NEXT).exists() or (home / KEYFILE_NEXT).exists():
                with lock.exclusively(LOCK_TIMEOUT):
                    _recover(home)
        except BaseException:
            lock.release()
            raise
        return cls._unlock(home, lock, lambda kf: kf.unwrap_with(passphrase), check=check)

    @classmethod
    def _unlock(
        cls,
        home: Path,
        lock: StoreLock,
        unwrap: Callable[[KeyFile], tuple[bytes, bytes]],
        *,
        check: bool,
    ) -> Store:
        try:
            try:
                keyfile = KeyFile.read(home / KEYFILE)
            except FileNotFoundError:
                raise StoreNotFound(
                    f"no store in {home}; create one with 'edge-dan init'"
                ) from None
            if not (home / DATABASE).exists():
                raise StoreCorrupt(
                    f"{home / DATABASE} is missing; restore it with 'edge-dan import'"
                )
            kek, key = unwrap(keyfile)  # WrongPassphrase surfaces here, before SQLCipher runs
            conn = connect(home / DATABASE, key)
        except BaseException:
            lock.release()
            raise
        store = cls(home, conn, keyfile, kek, lock)
        try:
            if check:
                store.check()
            with translated(store.path):
                schema.migrate(conn, source=str(store.path))
                row = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
            if row is None or row[0] != keyfile.store_id:
                raise StoreCorrupt(f"{home / KEYFILE} and {store.path} belong to different stores")
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        self._lock.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- use ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction, taken at once (IMMEDIATE) so it never fails half-way on a lock."""
        with translated(self.path):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def check(self) -> None:
        """Raise ``StoreCorrupt`` naming the file unless every page and the b-trees verify."""
        with translated(self.path):
            problems = integrity_problems(self.conn)
        if problems:
            shown = "; ".join(p.splitlines()[0] for p in problems[:3])
            raise StoreCorrupt(
                f"{self.path} failed its integrity check ({shown}); restore it from a backup "
                "with 'edge-dan import'"
            )

    def get_meta(self, key: str) -> str | None:
        with translated(self.path):
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # ----- key management ----------------------------------------------------------------------
    def change_passphrase(
        self,
        new_passphrase: str,
        *,
        kdf: KdfParams | None = None,
        unlock_seconds: float = DEFAULT_UNLOCK_SECONDS,
    ) -> None:
        """Rewrap the database key under a new passphrase (fresh salt, recalibrated cost)."""
        if not new_passphrase:
            raise StoreError("the passphrase must not be empty")
        self._ensure_keyfile_current()
        new_kdf = kdf.with_new_salt() if kdf else calibrate(unlock_seconds)
        new_kek = new_kdf.derive(new_passphrase)
        key = self._keyfile.unwrap(self._kek)
        keyfile = KeyFile.wrap(self.store_id, new_kdf, new_kek, key)
        keyfile.write(self.home / KEYFILE)
        self._keyfile, self._kek = keyfile, new_kek

    def rekey(self) -> None:
        """Replace the database key: a fresh file with a new key, salt and IVs on every page.

        A fresh export rather than ``PRAGMA rekey`` in place, so pages freed earlier (which still
        hold data under the old key) do not survive into the new file.
        """
        self.replace_database(self.export_to)

    def export_to(self, target: Path, key: bytes) -> None:
        """Copy the whole database into a new SQLCipher file at ``target`` under ``key``."""
        export_database(self.conn, target, key)

    def replace_database(self, build: Builder, *, store_id: str | None = None) -> None:
        """Swap in a complete new database made by ``build`` (rekey, restore), crash-safely.

        Needs the store to itself: fails with ``StoreBusy`` while another process has it open.
        """
        with self._lock.exclusively(LOCK_TIMEOUT):
            self._ensure_keyfile_current()
            with translated(self.path):
                self.conn.commit()
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            try:
                _swap_in(
                    self.home,
                    kek=self._kek,
                    kdf=self.kdf,
                    store_id=store_id or self.store_id,
                    build=build,
                    before_commit=self.conn.close,
                )
            finally:
                # Whether the swap committed or rolled back, the key file on disk matches the
                # database on disk; reconnect to whichever that is.
                keyfile = KeyFile.read(self.home / KEYFILE)
                self.conn = connect(self.path, keyfile.unwrap(self._kek))
                self._keyfile, self._db = keyfile, None

    def _ensure_keyfile_current(self) -> None:
        """Refuse to act on a key file another process has changed since we unlocked."""
        on_disk = KeyFile.read(self.home / KEYFILE)
        if on_disk != self._keyfile:
            raise StoreError(
                "the passphrase or key was changed by another process; open the store again"
            )


def export_database(conn: Connection, target: Path, key: bytes) -> None:
    """Copy everything ``conn`` holds into a new SQLCipher file at ``target`` under ``key``."""
    if not target.exists():
        write_private(target, b"")  # exists, 0600, before SQLCipher writes its first page
    with translated(target):
        version = schema.version(conn)
        conn.commit()  # ATTACH refuses to run inside a transaction
        conn.execute(attach_sql("export_target"), (str(target), blob_key(key)))
        try:
            conn.execute("SELECT sqlcipher_export('export_target')").fetchall()
            # sqlcipher_export copies tables and rows but not the schema version.
            conn.execute(f"PRAGMA export_target.user_version = {version}")
            conn.commit()
        finally:
            conn.execute("DETACH DATABASE export_target")
    fsync_file(target)


def _fresh_database(store_id: str) -> Builder:
    def build(target: Path, key: bytes) -> None:
        conn = connect(target, key)
        try:
            with translated(target):
                schema.migrate(conn, source=str(target))
                conn.execute("INSERT INTO meta (key, value) VALUES ('store_id', ?)", (store_id,))
                conn.execute("INSERT INTO meta (key, value) VALUES ('created_at', ?)", (now_iso(),))
                conn.commit()
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.close()
        fsync_file(target)

    return build


def _swap_in(
    home: Path,
    *,
    kek: bytes,
    kdf: KdfParams,
    store_id: str,
    build: Builder,
    before_commit: Callable[[], None] | None = None,
) -> None:
    """Replace (or create) the database and key file following the protocol in the module doc."""
    next_db, next_key = home / DATABASE_NEXT, home / KEYFILE_NEXT
    key = secrets.token_bytes(32)
    try:
        write_private(next_db, b"")  # 0600 from the start; SQLite gives -wal/-shm the same mode
        build(next_db, key)
        for suffix in SQLITE_SIDECARS:
            remove_if_present(next_db.with_name(next_db.name + suffix))
        KeyFile.wrap(store_id, kdf, kek, key).write(next_key)
    except BaseException:
        _rollback(home)
        raise
    if before_commit:
        before_commit()
    try:
        for suffix in SQLITE_SIDECARS:  # the old file is checkpointed and closed: these are empty
            remove_if_present(home / (DATABASE + suffix))
        os.replace(next_db, home / DATABASE)  # commit point
        fsync_dir(home)
        os.replace(next_key, home / KEYFILE)
        fsync_dir(home)
    except OSError as exc:
        raise disk_error(home / DATABASE, exc) from exc


def _rollback(home: Path) -> None:
    next_db = home / DATABASE_NEXT
    for suffix in ("", *SQLITE_SIDECARS):
        remove_if_present(next_db.with_name(next_db.name + suffix))
    remove_if_present(home / KEYFILE_NEXT)


def _recover(home: Path) -> None:
    """Finish or undo a swap that a crash interrupted (caller holds the lock exclusively)."""
    try:
        if (home / DATABASE_NEXT).exists():
            _rollback(home)
        elif (home / KEYFILE_NEXT).exists():
            os.replace(home / KEYFILE_NEXT, home / KEYFILE)
        else:
            return
        fsync_dir(home)
    except OSError as exc:
        raise disk_error(home, exc) from exc
