"""Opening SQLCipher databases with a raw key, and turning SQLite failures into store errors.

The key arrives as 32 raw bytes and is given as a blob literal, so SQLCipher skips its own PBKDF2
(the passphrase was already stretched with Argon2id in ``keyfile``). The pragmas below are chosen
for an owner's device: WAL so readers never block the writer and two processes can share the store,
``synchronous=FULL`` because a commit we acknowledge must survive a power cut on an SD card,
``secure_delete`` so forgotten data is overwritten inside the encrypted pages, and temporary tables
in memory so nothing decrypted is spilled to a temp file.

``sqlcipher3`` is imported only when a database is opened, so this module (and the ``Connection``
type the owner layer names) imports where it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from edge_dan.errors import StoreError
from edge_dan.store.engines import Connection, translate, translated
from edge_dan.store.files import fsync_path, write_private

__all__ = ["Connection", "connect", "export_database", "integrity_problems", "translated"]

BUSY_TIMEOUT_MS = 5000


def key_pragma(key: bytes) -> str:
    if len(key) != 32:
        raise StoreError("a database key is 32 bytes")
    return f"PRAGMA key = \"x'{key.hex()}'\""


def attach_sql(alias: str) -> str:
    return f"ATTACH DATABASE ? AS {alias} KEY ?"


def blob_key(key: bytes) -> str:
    """The key string ATTACH accepts for a raw key."""
    return f"x'{key.hex()}'"


def connect(path: Path, key: bytes) -> Connection:
    """Open ``path`` with ``key`` and check that the key actually decrypts it."""
    # Imported here, not above: ``Connection`` and ``translated`` come through this module too,
    # and must import where sqlcipher3 is missing (the stdlib engine, ``sealed_sqlite``).
    import sqlcipher3

    try:
        name, uri = _database(path)
        conn = sqlcipher3.connect(
            name, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, uri=uri
        )
    except sqlcipher3.Error as exc:
        raise translate(exc, path) from exc
    try:
        # SQLCipher otherwise writes its own error lines to stderr; our errors say it better.
        conn.execute("PRAGMA cipher_log_level = NONE").fetchall()
        conn.execute(key_pragma(key))
        # The first read of page 1 is where a wrong key or a damaged header shows up.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        for pragma in (
            f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = FULL",
            "PRAGMA secure_delete = ON",
            "PRAGMA temp_store = MEMORY",
            "PRAGMA foreign_keys = ON",
        ):
            conn.execute(pragma).fetchall()
    except sqlcipher3.Error as exc:
        conn.close()
        raise translate(exc, path) from exc
    return conn


def _database(path: Path) -> tuple[str, bool]:
    """How to name ``path`` to sqlcipher3.connect: the name, and whether it is a URI."""
    if not _in_read_only_directory(path) or _wal_holds_pages(path):
        return str(path), False
    # WAL mode needs a -shm file next to the database, which a read-only directory cannot hold,
    # so SQLite refuses to open the database at all. With no write-ahead log to replay, the file
    # is the whole store, and nothing of ours can change it while the directory stays read-only:
    # "immutable" tells SQLite just that, so it reads without -shm or locks, and any write fails
    # as "readonly" (a store error, below).
    return f"file://{quote(os.path.abspath(path))}?mode=ro&immutable=1", True


def _in_read_only_directory(path: Path) -> bool:
    folder = path.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False  # opening the file reports what is wrong with it
    return not os.access(folder, os.W_OK)


def _wal_holds_pages(path: Path) -> bool:
    # Immutable would ignore the log's commits: let SQLite open it (or say why it cannot).
    try:
        return path.with_name(path.name + "-wal").stat().st_size > 0
    except OSError:
        return False


def integrity_problems(conn: Connection) -> list[str]:
    """Every page's MAC (SQLCipher) and the b-tree structure (SQLite); empty means healthy."""
    problems = [str(row[0]) for row in conn.execute("PRAGMA cipher_integrity_check").fetchall()]
    rows = conn.execute("PRAGMA quick_check").fetchall()
    problems += [str(r[0]) for r in rows if r[0] != "ok"]
    return problems


def export_database(conn: Connection, target: Path, key: bytes) -> None:
    """Copy everything ``conn`` holds into a new SQLCipher file at ``target`` under ``key``."""
    if not target.exists():
        write_private(target, b"")  # exists, 0600, before SQLCipher writes its first page
    with translated(target):
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        conn.commit()  # ATTACH refuses to run inside a transaction
        conn.execute(attach_sql("export_target"), (str(target), blob_key(key)))
        try:
            conn.execute("SELECT sqlcipher_export('export_target')").fetchall()
            # sqlcipher_export copies tables and rows but not the schema version.
            conn.execute(f"PRAGMA export_target.user_version = {version}")
            conn.commit()
        finally:
            conn.execute("DETACH DATABASE export_target")
    fsync_path(target)


def attach(conn: Connection, alias: str, path: Path, key: bytes) -> None:
    """The SQLCipher file at ``path`` (under ``key``), attached as ``alias``."""
    conn.execute(attach_sql(alias), (str(path), blob_key(key)))
