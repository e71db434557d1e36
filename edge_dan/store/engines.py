"""The two database engines a store can sit on, which one a file is, and database errors.

- ``sqlcipher``: SQLCipher through ``sqlcipher3`` (``edge_dan.store.sqlcipher``), page-level
  encryption of an on-disk SQLite file. Needs a native build that phones and armv7 lack.
- ``sqlite``: the standard library's ``sqlite3`` in memory, every commit persisted as one sealed
  snapshot (``edge_dan.store.sealed_sqlite``). Runs wherever Python and PyNaCl do.

A new store uses the engine asked for (``Store.create(backend=...)``), else
``$EDGE_DAN_STORE_BACKEND``, else SQLCipher when ``sqlcipher3`` imports and the stdlib engine when
it does not. An existing store is opened with the engine its file was written by: a sealed
snapshot starts with its own magic, anything else is taken for SQLCipher (whose first bytes are a
random salt). ``sqlcipher3`` is imported only when a SQLCipher file is used.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_dan.errors import StoreBusy, StoreCorrupt, StoreError, UsageError

BACKEND_ENV = "EDGE_DAN_STORE_BACKEND"
SQLCIPHER, SQLITE = "sqlcipher", "sqlite"
BACKENDS = (SQLCIPHER, SQLITE)
SEALED_MAGIC = b"EDGE-DAN-SEALED\n"

Connection = Any  # sqlcipher3 ships no type information, and both kinds are used alike


def database_errors() -> tuple[type[Exception], ...]:
    """The exception classes a database call may raise: sqlite3's, and sqlcipher3's if loaded."""
    loaded = sys.modules.get("sqlcipher3")
    return (sqlite3.Error,) if loaded is None else (sqlite3.Error, loaded.Error)


def is_integrity_error(exc: BaseException) -> bool:
    return type(exc).__name__ == "IntegrityError" and isinstance(exc, database_errors())


def translate(exc: Exception, path: Path) -> StoreError:
    """Map a SQLite failure to the store error a person can act on."""
    message = str(exc).lower()
    if "not a database" in message or "malformed" in message or "corrupt" in message:
        return StoreCorrupt(f"{path} failed its integrity check ({exc})")
    if "locked" in message or "busy" in message:
        return StoreBusy(f"{path} stayed locked by another process for too long; try again")
    if "disk is full" in message or "disk i/o" in message:
        return StoreError(f"cannot write {path}: {exc}; the last change was not saved")
    if "readonly" in message or "unable to open" in message:
        return StoreError(f"cannot open {path} for writing: {exc}")
    return StoreError(f"store error in {path}: {exc}")


@contextlib.contextmanager
def translated(path: Path) -> Iterator[None]:
    try:
        yield
    except database_errors() as exc:
        raise translate(exc, path) from exc


def sqlcipher_available() -> bool:
    try:
        return importlib.util.find_spec("sqlcipher3") is not None and _imports("sqlcipher3")
    except (ImportError, ValueError):  # a module set to None in sys.modules: made unimportable
        return False


def _imports(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Engine:
    """One engine: its name and its module (``connect``, ``export_database``,
    ``integrity_problems``, ``attach``), imported on first use."""

    name: str
    module: str

    def _impl(self) -> Any:
        return importlib.import_module(self.module)

    def connect(self, path: Path, key: bytes) -> Connection:
        return self._impl().connect(path, key)

    def export_database(self, conn: Connection, target: Path, key: bytes) -> None:
        self._impl().export_database(conn, target, key)

    def integrity_problems(self, conn: Connection) -> list[str]:
        return list(self._impl().integrity_problems(conn))

    def attach(self, conn: Connection, alias: str, path: Path, key: bytes) -> None:
        self._impl().attach(conn, alias, path, key)


_ENGINES = {
    SQLCIPHER: Engine(SQLCIPHER, "edge_dan.store.sqlcipher"),
    SQLITE: Engine(SQLITE, "edge_dan.store.sealed_sqlite"),
}


def engine_named(name: str | None = None) -> Engine:
    """The engine for a new database: ``name``, else the environment's, else the best present."""
    chosen = name or os.environ.get(BACKEND_ENV) or ""
    if not chosen:
        return _ENGINES[SQLCIPHER if sqlcipher_available() else SQLITE]
    if chosen not in _ENGINES:
        raise UsageError(
            f"unknown store backend {chosen!r}; choose {' or '.join(BACKENDS)}"
            + (f" (from ${BACKEND_ENV})" if not name else "")
        )
    if chosen == SQLCIPHER and not sqlcipher_available():
        raise UsageError("the sqlcipher store backend needs sqlcipher3, which is not installed")
    return _ENGINES[chosen]


def engine_of_file(path: Path) -> Engine:
    """The engine that wrote the database at ``path`` (which exists and is not empty)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SEALED_MAGIC))
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head == SEALED_MAGIC:
        return _ENGINES[SQLITE]
    if not sqlcipher_available():
        raise StoreCorrupt(
            f"{path} is not a sealed snapshot: either damaged, or a SQLCipher database, which "
            "needs sqlcipher3 (not installed here)"
        )
    return _ENGINES[SQLCIPHER]
