"""The migrations runner of the store, and the one table the engine needs for itself.

A store is one SQLite file with one schema version, kept in SQLite's ``user_version``. The engine
owns only ``meta`` (the store id and when the store was made), created in every new database before
anything else and outside the versions. Every other table belongs to whoever keeps data in the
store and comes with its ``Schema``: an ordered list of migrations, each moving the file up by one
version inside the same transaction as its version bump, so a crash mid-migration leaves the
previous version and the next run simply applies it again. A file written by a newer schema is
refused rather than guessed at.

The engine does not know what is kept in it: the owner's tables and their migrations live with the
owner's data (``edge_dan.owner.schema``), which brings an open store to its schema
(``Store.migrate``), can have a new store built with it (``Store.create(schema=...)``) and a backup
brought to it before the restore replaces anything (``import_backup(schema=...)``). One store holds
one schema, so there is one sequence of versions, not one per package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edge_dan.errors import StoreError
from edge_dan.store.sqlcipher import Connection

Migration = Callable[[Connection], None]
# Raises unless every row a connection holds is one the schema's owner could have written.
RowCheck = Callable[[Connection], None]

# The engine's own table: the store id (checked against the key file on every open) and the
# creation time. Existing stores made it in their first migration, with this very statement.
META_TABLE = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


def run_script(conn: Connection, script: str) -> None:
    """Run the ``;``-separated statements of ``script`` inside the caller's transaction.

    Not ``executescript()``: it commits first, which would split a migration's transaction.
    """
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def create_meta(conn: Connection) -> None:
    conn.execute(META_TABLE)


def version(conn: Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


@dataclass(frozen=True)
class Schema:
    """The tables of one kind of store, as migrations: index i moves version i to i + 1.

    Append only; never edit a released migration. ``check``, when given, is run on a restored
    database before it replaces anything (``edge_dan.store.rebuild``): it reads every row as the
    schema's owner does and raises on any it would refuse.
    """

    migrations: tuple[Migration, ...]
    check: RowCheck | None = None

    @property
    def latest(self) -> int:
        return len(self.migrations)

    def migrate(self, conn: Connection, *, source: str) -> int:
        """Bring the file to ``latest``; return the version it had before."""
        start = version(conn)
        if start > self.latest:
            raise StoreError(
                f"{source} was written by a newer edge_dan (schema {start}, this one knows "
                f"{self.latest}); upgrade edge_dan"
            )
        for target in range(start + 1, self.latest + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                if version(conn) == target - 1:  # another process may have migrated meanwhile
                    self.migrations[target - 1](conn)
                    conn.execute(f"PRAGMA user_version = {target}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return start
