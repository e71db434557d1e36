"""The owner's encrypted store: a database in a private home directory.

Files in the home (all 0600, the directory 0700):

- ``keyfile.json``: the database key wrapped under the passphrase, or under a raw key the app
  keeps in the OS keystore (see ``keyfile``).
- ``store.db``: the database, on one of two engines (``engines``): SQLCipher (with SQLite's
  ``-wal``/``-shm``), or the standard library's sqlite3 sealed whole on every commit (with
  ``commit.lock``, see ``sealed_sqlite``).
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
import secrets
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from edge_dan.errors import (
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreExists,
    StoreNotFound,
    UsageError,
    WrongPassphrase,
)
from edge_dan.store.engines import (
    SQLCIPHER,
    Connection,
    Engine,
    engine_named,
    engine_of_file,
    translated,
)
from edge_dan.store.files import ensure_private_dir, fsync_path
from edge_dan.store.home import home_error
from edge_dan.store.keyfile import (
    DEFAULT_UNLOCK_SECONDS,
    MIN_MEMLIMIT,
    MIN_OPSLIMIT,
    KdfParams,
    KeyFile,
    calibrate,
)
from edge_dan.store.locking import StoreLock
from edge_dan.store.schema import Schema, create_meta
from edge_dan.store.swap import (
    DATABASE,
    DATABASE_NEXT,
    KEYFILE,
    KEYFILE_NEXT,
    Builder,
    has_debris,
    needs_recovery,
    recover,
    swap_in,
)

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["DATABASE", "DATABASE_NEXT", "KEYFILE", "KEYFILE_NEXT", "Builder", "Store", "now_iso"]

Result = TypeVar("Result")

LOCKFILE = "lock"
LOCK_TIMEOUT = 10.0


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Store:
    """An unlocked store. Use ``Store.create`` or ``Store.open``; close it (or use ``with``)."""

    def __init__(
        self,
        home: Path,
        conn: Connection,
        keyfile: KeyFile,
        kek: bytes,
        lock: StoreLock,
        *,
        engine: Engine,
    ) -> None:
        self.home = home
        self.conn = conn
        self._engine = engine
        self._keyfile = keyfile
        self._kek = kek  # kept while open so rekey can wrap a new key; never written anywhere
        self._lock = lock
        self._db: sqlite_utils.Database | None = None
        self._inode = self.path.stat().st_ino  # which file our connection has open

    # ----- paths and state -------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.home / DATABASE

    @property
    def backend(self) -> str:
        """The engine under this store: ``"sqlcipher"`` or ``"sqlite"`` (see ``engines``)."""
        return self._engine.name

    @property
    def store_id(self) -> str:
        return self._keyfile.store_id

    @property
    def kdf(self) -> KdfParams:
        return self._keyfile.kdf

    @staticmethod
    def exists(home: Path) -> bool:
        try:
            return (home / KEYFILE).exists() or (home / KEYFILE_NEXT).exists()
        except OSError as exc:  # a name too long, a directory we may not search
            raise home_error(home, exc) from None

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
        passphrase: str | None = None,
        *,
        key: bytes | None = None,
        backend: str | None = None,
        kdf: KdfParams | None = None,
        unlock_seconds: float = DEFAULT_UNLOCK_SECONDS,
        builder: Builder | None = None,
        store_id: str | None = None,
        schema: Schema | None = None,
    ) -> Store:
        """Create a new store in ``home``; ``builder`` may fill the database (restore).

        A fresh database holds the engine's ``meta`` table, and ``schema``'s tables when given
        (without a ``builder``, which makes the whole database): built completely before it is
        swapped in, so a store is never seen half made.

        Give ``passphrase`` (stretched with Argon2id) or ``key`` (32 random bytes an app keeps in
        the OS keystore), not both. ``backend`` (``"sqlcipher"`` or ``"sqlite"``) picks the
        engine; by default ``$EDGE_DAN_STORE_BACKEND``, else SQLCipher where it is installed.
        """
        _one_secret(passphrase, key)
        if passphrase is not None:
            _check_passphrase(passphrase)
        engine = engine_named(backend)
        if cls.exists(home):  # checked again under the lock; this spares waiting for it
            raise StoreExists(f"{home} already holds a store")
        ensure_private_dir(home)
        lock = StoreLock(home)
        try:
            lock.acquire_shared(LOCK_TIMEOUT)
            with lock.exclusively(LOCK_TIMEOUT):
                recover(home)
                if cls.exists(home) or (home / DATABASE).exists():
                    raise StoreExists(f"{home} already holds a store")
                if key is not None:
                    # The key file keeps the shape it always has; these parameters are never
                    # used (a passphrase tried on this store fails at once, as wrong).
                    kdf, kek = KdfParams.fresh(MIN_OPSLIMIT, MIN_MEMLIMIT), key
                else:
                    kdf = kdf or calibrate(unlock_seconds)
                    kek = kdf.derive(passphrase or "")
                store_id = store_id or secrets.token_hex(16)
                build = builder or _fresh_database(store_id, schema, engine)
                swap_in(home, kek=kek, kdf=kdf, store_id=store_id, build=build)
        except BaseException:
            lock.release()
            raise
        return cls._unlock(home, lock, lambda kf: (kek, kf.unwrap(kek)), check=False)

    @classmethod
    def open(
        cls,
        home: Path,
        passphrase: str | None = None,
        *,
        key: bytes | None = None,
        check: bool = True,
    ) -> Store:
        """Unlock the store in ``home`` with its passphrase or its raw ``key``. ``check``
        verifies every page before use. The engine is the one the database file was made by."""
        _one_secret(passphrase, key)
        if passphrase is not None:
            _check_passphrase(passphrase, new=False)  # an empty one is just wrong, as always
        if not cls.exists(home) and not (home / LOCKFILE).exists():
            raise StoreNotFound(f"no store in {home}")
        lock = StoreLock(home)
        try:
            lock.acquire_shared(LOCK_TIMEOUT)
            if needs_recovery(home):  # the key file itself may be waiting to be rolled forward
                with lock.exclusively(LOCK_TIMEOUT):
                    recover(home)
        except BaseException:
            lock.release()
            raise
        store = cls._unlock(home, lock, _unwrapper(passphrase, key), check=check)
        if has_debris(home):  # scratch files of a crashed operation: tidy up if nobody else is here
            with contextlib.suppress(StoreBusy), lock.exclusively(timeout=0):
                recover(home)
        return store

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
                raise StoreNotFound(f"no store in {home}") from None
            _check_database_file(home / DATABASE)
            engine = engine_of_file(home / DATABASE)
            kek, key = unwrap(keyfile)  # WrongPassphrase surfaces here, before the database
            conn = engine.connect(home / DATABASE, key)
        except BaseException:
            lock.release()
            raise
        store = cls(home, conn, keyfile, kek, lock, engine=engine)
        try:
            if check:
                store.check()
            with translated(store.path):
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
            problems = self._engine.integrity_problems(self.conn)
        if problems:
            shown = "; ".join(p.splitlines()[0] for p in problems[:3])
            raise StoreCorrupt(f"{self.path} failed its integrity check ({shown})")

    def migrate(self, schema: Schema) -> int:
        """Bring the database to ``schema`` (see ``edge_dan.store.schema``); the version it had
        before. ``StoreError`` if a newer schema wrote it."""
        with translated(self.path):
            return schema.migrate(self.conn, source=str(self.path))

    def read(self, reader: Callable[[Connection], Result]) -> Result:
        """What ``reader`` reads through the connection, a database error translated."""
        with translated(self.path):
            return reader(self.conn)

    def fetch_one(self, sql: str, params: Sequence[object] = ()) -> Any:
        """The first row ``sql`` reads (``None`` if none), a database error translated."""
        with translated(self.path):
            return self.conn.execute(sql, params).fetchone()

    def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """Every row ``sql`` reads, a database error translated."""
        with translated(self.path):
            return list(self.conn.execute(sql, params).fetchall())

    def checkpoint(self) -> None:
        """Move the write-ahead log into the database file and empty the log.

        Run after a delete that must not linger: ``secure_delete`` zeroes freed cells only once
        their pages reach the database file, and until then the log still holds the old pages.
        """
        self.fetch_all("PRAGMA wal_checkpoint(TRUNCATE)")

    def get_meta(self, key: str) -> str | None:
        row = self.fetch_one("SELECT value FROM meta WHERE key = ?", (key,))
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
        _check_passphrase(new_passphrase)
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
        """Copy the whole database into a new file at ``target`` under ``key`` (same engine)."""
        self._engine.export_database(self.conn, target, key)

    def replace_database(self, build: Builder, *, store_id: str | None = None) -> None:
        """Swap in a complete new database made by ``build`` (rekey, restore), crash-safely.

        Needs the store to itself: fails with ``StoreBusy`` while another process has it open.
        """
        try:
            with self._lock.exclusively(LOCK_TIMEOUT):
                self._follow_swap()
                self._ensure_keyfile_current()
                with translated(self.path):
                    self.conn.commit()
                    self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                try:
                    swap_in(
                        self.home,
                        kek=self._kek,
                        kdf=self.kdf,
                        store_id=store_id or self.store_id,
                        build=build,
                        before_commit=self.conn.close,
                    )
                finally:
                    # Committed or rolled back, the key file on disk matches the database on
                    # disk: reconnect to whichever that is.
                    keyfile = KeyFile.read(self.home / KEYFILE)
                    self._reconnect(keyfile, keyfile.unwrap(self._kek))
        except StoreBusy:
            # Trying to upgrade a flock gives up the shared lock for a moment; another process
            # may have swapped the file in that moment.
            self._follow_swap()
            raise

    def _reconnect(self, keyfile: KeyFile, key: bytes) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        self._engine = engine_of_file(self.path)
        self.conn = self._engine.connect(self.path, key)
        self._keyfile, self._db = keyfile, None
        self._inode = self.path.stat().st_ino

    def _follow_swap(self) -> None:
        """Reconnect if another process replaced the database file while we held no lock."""
        if not self._swapped():
            return
        keyfile = KeyFile.read(self.home / KEYFILE)
        try:
            key = keyfile.unwrap(self._kek)
        except WrongPassphrase:
            self.close()
            raise StoreError(
                "another process replaced the store under another passphrase; open it again"
            ) from None
        self._reconnect(keyfile, key)

    def _swapped(self) -> bool:
        if self._engine.name == SQLCIPHER:
            return self.path.stat().st_ino != self._inode
        # The sealed file gets a new inode on every commit; a swap always writes a new key file.
        return KeyFile.read(self.home / KEYFILE) != self._keyfile

    def _ensure_keyfile_current(self) -> None:
        """Refuse to act on a key file another process has changed since we unlocked."""
        on_disk = KeyFile.read(self.home / KEYFILE)
        if on_disk != self._keyfile:
            raise StoreError(
                "the passphrase or key was changed by another process; open the store again"
            )


def _one_secret(passphrase: str | None, key: bytes | None) -> None:
    if (passphrase is None) == (key is None):
        raise UsageError("give the store's passphrase or its key, one of the two")
    if key is not None and (not isinstance(key, bytes) or len(key) != 32):
        raise UsageError("a store key is 32 bytes")


def _unwrapper(
    passphrase: str | None, key: bytes | None
) -> Callable[[KeyFile], tuple[bytes, bytes]]:
    if key is None:
        return lambda kf: kf.unwrap_with(passphrase or "")

    def unwrap(keyfile: KeyFile) -> tuple[bytes, bytes]:
        try:
            return key, keyfile.unwrap(key)
        except WrongPassphrase:
            raise WrongPassphrase("wrong key") from None

    return unwrap


def _check_passphrase(passphrase: str, *, new: bool = True) -> None:
    if new and not passphrase:
        raise StoreError("the passphrase must not be empty")
    try:
        passphrase.encode("utf-8")  # what the key derivation does with it
    except UnicodeEncodeError:
        # Lone surrogates: bytes that were not UTF-8, decoded with surrogateescape.
        raise UsageError("the passphrase is not valid UTF-8 text") from None


def _check_database_file(path: Path) -> None:
    """Refuse a missing or empty database file before SQLite opens it.

    SQLite takes a zero-byte file for a new, empty database and would write a header (WAL mode)
    and then our schema into it; an empty store.db is a lost one, to be restored, not reused.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise StoreCorrupt(f"{path} is missing") from None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size == 0:
        raise StoreCorrupt(f"{path} is empty (0 bytes)")


def _fresh_database(store_id: str, schema: Schema | None, engine: Engine) -> Builder:
    def build(target: Path, key: bytes) -> None:
        conn = engine.connect(target, key)
        try:
            with translated(target):
                create_meta(conn)
                conn.commit()
                if schema is not None:
                    schema.migrate(conn, source=str(target))
                conn.execute("INSERT INTO meta (key, value) VALUES ('store_id', ?)", (store_id,))
                conn.execute("INSERT INTO meta (key, value) VALUES ('created_at', ?)", (now_iso(),))
                conn.commit()
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.close()
        fsync_path(target)

    return build
