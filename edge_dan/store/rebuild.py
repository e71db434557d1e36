"""A restored database rebuilt from our own schema, with only the backup's rows copied over.

A backup that verifies proves only that whoever made it knew its passphrase. Its database may
hold anything SQLite can: a trigger that wipes the profile on the next edit, a view in place of a
table, tables and columns we never made, rows no API call would ever write. So the restore never
adopts that database. It makes a fresh one with the engine's ``meta`` table and the schema's
migrations (exactly what ``Store.create`` makes), then copies, for each table of the fresh one,
the same-named columns from the backup (brought to the schema first, so older backups keep their
data). Our constraints (NOT NULL, CHECK, UNIQUE) apply to every row on the way in, and the
schema's ``check`` then reads every row as the API would. Everything else is left behind with the
scratch copy.

The backup's copy is disarmed before anything runs on it: triggers and views are dropped (so our
migrations cannot fire them) and ``trusted_schema`` is off.
"""

from __future__ import annotations

from pathlib import Path

from edge_dan.errors import BackupError, StoreError
from edge_dan.store.engines import Connection, Engine, is_integrity_error, translated
from edge_dan.store.files import fsync_path
from edge_dan.store.schema import Schema, create_meta

_SOURCE = "backup"  # the attached copy of the backup's database; the queries below name it
_TABLES = {  # every table but SQLite's own (sqlite_sequence and such)
    "main": "SELECT name FROM main.sqlite_master WHERE type = 'table'"
    " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    _SOURCE: "SELECT name FROM backup.sqlite_master WHERE type = 'table'"
    " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
}


def quoted(name: str) -> str:
    """``name`` as an SQL identifier, whatever it holds."""
    return '"' + name.replace('"', '""') + '"'


def _tables(conn: Connection, database: str) -> list[str]:
    rows = conn.execute(_TABLES[database]).fetchall()
    return [str(row[0]) for row in rows]


def _columns(conn: Connection, database: str, table: str) -> list[str]:
    rows = conn.execute(f"PRAGMA {database}.table_info({quoted(table)})").fetchall()
    return [str(row[1]) for row in rows]


def _disarm_and_migrate(
    engine: Engine, scratch: Path, file_key: bytes, schema: Schema, source: Path
) -> None:
    """Check the backup's copy, drop its triggers and views, bring it to ``schema``."""
    conn = engine.connect(scratch, file_key)
    try:
        with translated(source):
            conn.execute("PRAGMA trusted_schema = OFF").fetchall()
            problems = engine.integrity_problems(conn)
            if problems:
                raise BackupError(f"{source} holds a damaged database ({problems[0]})")
            planted = conn.execute(
                "SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'view')"
            ).fetchall()
            for kind, name in planted:
                conn.execute(f"DROP {'TRIGGER' if kind == 'trigger' else 'VIEW'} {quoted(name)}")
            conn.commit()
            schema.migrate(conn, source=str(source))
    finally:
        conn.close()


def _copy_rows(conn: Connection, source: Path) -> None:
    """Every row of every table of ours from the attached backup, inside one transaction."""
    ours = _tables(conn, "main")
    theirs = set(_tables(conn, _SOURCE))
    for table in ours:
        columns = _columns(conn, "main", table)
        if table not in theirs:
            raise BackupError(f"{source} has no table {table}")
        missing = set(columns) - set(_columns(conn, _SOURCE, table))
        if missing:
            raise BackupError(f"{source}: table {table} lacks {', '.join(sorted(missing))}")
        names = ", ".join(quoted(c) for c in columns)
        try:
            # Identifiers only, each quoted: names of our own tables and columns.
            conn.execute(
                f"INSERT INTO main.{quoted(table)} ({names})"  # noqa: S608
                f" SELECT {names} FROM backup.{quoted(table)}"
            )
        except Exception as exc:
            if not is_integrity_error(exc):
                raise
            raise BackupError(f"{source}: a row of {table} breaks the schema ({exc})") from None
    _copy_sequences(conn, ours)


def _copy_sequences(conn: Connection, tables: list[str]) -> None:
    """AUTOINCREMENT counters, so an id given out before (an undone answer's) is never reused."""
    if "sqlite_sequence" not in {
        str(r[0]) for r in conn.execute("SELECT name FROM backup.sqlite_master").fetchall()
    }:
        return
    rows = conn.execute(
        "SELECT name, seq FROM backup.sqlite_sequence WHERE typeof(seq) = 'integer'"
    ).fetchall()
    for name, seq in rows:
        if name not in tables or seq < 0:
            continue
        updated = conn.execute(
            "UPDATE main.sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (seq, name)
        ).rowcount
        if not updated:
            conn.execute("INSERT INTO main.sqlite_sequence (name, seq) VALUES (?, ?)", (name, seq))


def rebuild(  # noqa: PLR0917 (engine, source, target: each given once, positionally)
    engine: Engine,
    scratch: Path,
    file_key: bytes,
    target: Path,
    key: bytes,
    schema: Schema,
    *,
    source: Path,
) -> None:
    """Make ``target`` (under ``key``) from ``schema``, holding the checked rows of the backup's
    database at ``scratch`` (under ``file_key``); ``BackupError`` if any row is refused. Both are
    ``engine``'s files."""
    _disarm_and_migrate(engine, scratch, file_key, schema, source)
    conn = engine.connect(target, key)
    try:
        with translated(target):
            conn.execute("PRAGMA trusted_schema = OFF").fetchall()
            create_meta(conn)
            conn.commit()
            schema.migrate(conn, source=str(target))
            engine.attach(conn, _SOURCE, scratch, file_key)
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    _copy_rows(conn, source)
                    if schema.check is not None:
                        schema.check(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                conn.execute(f"DETACH DATABASE {_SOURCE}")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except StoreError as exc:
        if isinstance(exc, BackupError):
            raise
        raise BackupError(f"{source} cannot be restored: {exc}") from None
    finally:
        conn.close()
    fsync_path(target)
