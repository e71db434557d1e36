"""Schema versions and migrations of the store.

The schema version lives in SQLite's ``user_version``. Each migration moves the schema up by one
version inside the same transaction as its version bump, so a crash mid-migration leaves the store
at the previous version, and the next open simply runs it again. A store written by a newer
edge_dan is refused rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable

from edge_dan.errors import StoreError
from edge_dan.store.sqlcipher import Connection


def _run(conn: Connection, script: str) -> None:
    # Not executescript(): it commits first, which would split the migration's transaction.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1(conn: Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE identity (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            signing_seed BLOB NOT NULL,
            static_private BLOB NOT NULL,
            static_signature BLOB NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE profile (value TEXT PRIMARY KEY, weight REAL NOT NULL);
        CREATE TABLE profile_history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            source TEXT NOT NULL,
            changes TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE quiz_responses (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            answers TEXT NOT NULL,
            result TEXT NOT NULL
        );
        """,
    )


def _v2(conn: Connection) -> None:
    # Paired peers (edge_dan.store.peers). advert_key is the per-pair secret behind discovery's
    # rotating tokens; unpairing deletes the row, and secure_delete overwrites it in the pages.
    # Not called "peers": a store test migrates a made-up table of that name on top of LATEST.
    _run(
        conn,
        """
        CREATE TABLE paired_peers (
            identity_key BLOB PRIMARY KEY CHECK (length(identity_key) = 32),
            static_key BLOB NOT NULL UNIQUE CHECK (length(static_key) = 32),
            fingerprint TEXT NOT NULL,
            name TEXT NOT NULL,
            advert_key BLOB NOT NULL CHECK (length(advert_key) = 32),
            paired_at TEXT NOT NULL,
            method TEXT NOT NULL CHECK (method IN ('numeric', 'qr', 'code'))
        ) WITHOUT ROWID;
        """,
    )


def _v3(conn: Connection) -> None:
    # The owner's answers to "which do you prefer?" (edge_dan.store.feedback): both option texts
    # (secret: they say what the owner weighs up) with the model scores they had when answered,
    # the fitted personal model, and a log of answers added and undone (no option texts in it).
    # AUTOINCREMENT so the number of an undone answer is never given to another.
    _run(
        conn,
        """
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            preferred TEXT NOT NULL,
            rejected TEXT NOT NULL,
            preferred_scores TEXT NOT NULL,
            rejected_scores TEXT NOT NULL,
            tier TEXT NOT NULL
        );
        CREATE TABLE personal_model (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            state TEXT NOT NULL,
            fitted_at TEXT NOT NULL
        );
        CREATE TABLE feedback_history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('add', 'undo')),
            feedback_id INTEGER NOT NULL,
            changes TEXT NOT NULL
        );
        """,
    )


def _v4(conn: Connection) -> None:
    # Discovery (edge_dan.store.discovery_keys): this agent's own advertising key, and the one
    # each partner gave us after pairing (NULL until it arrives). See edge_dan.discovery.tokens
    # for why the key is per agent rather than per pair.
    _run(
        conn,
        """
        CREATE TABLE advertising_key (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            key BLOB NOT NULL CHECK (length(key) = 32),
            created_at TEXT NOT NULL
        );
        ALTER TABLE paired_peers ADD COLUMN peer_advertising_key BLOB
            CHECK (peer_advertising_key IS NULL OR length(peer_advertising_key) = 32);
        """,
    )


def _v5(conn: Connection) -> None:
    # Signed agreements (edge_dan.store.agreements): accords and group norms, each kept as the
    # exact bytes the parties signed plus the columns needed to find them. ``complete`` is 1 once
    # every signature is in and verified; only those bind anyone.
    _run(
        conn,
        """
        CREATE TABLE accords (
            accord_id BLOB PRIMARY KEY CHECK (length(accord_id) = 32),
            negotiation_id BLOB NOT NULL,
            time_ms INTEGER NOT NULL,
            complete INTEGER NOT NULL CHECK (complete IN (0, 1)),
            data BLOB NOT NULL,
            stored_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE norms (
            norm_id BLOB PRIMARY KEY CHECK (length(norm_id) = 32),
            group_id BLOB NOT NULL,
            name TEXT NOT NULL,
            time_ms INTEGER NOT NULL,
            complete INTEGER NOT NULL CHECK (complete IN (0, 1)),
            data BLOB NOT NULL,
            stored_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX norms_by_group ON norms (group_id, time_ms);
        """,
    )


def _v6(conn: Connection) -> None:
    # Refusals the owner contested (edge_dan.store.contests): the option text (secret, like every
    # option) and the key it is recognised by, so a contest applies to that text and nothing else.
    # Feedback rows written from now on keep the 10 signed value effects instead of the 20
    # category scores; older rows keep theirs (edge_dan.values.personal reads both).
    _run(
        conn,
        """
        CREATE TABLE contests (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            option_key TEXT NOT NULL UNIQUE,
            option TEXT NOT NULL,
            reason TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        );
        """,
    )


# Index i holds the migration from version i to i + 1. Append only; never edit a released one.
MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2, _v3, _v4, _v5, _v6]
LATEST = len(MIGRATIONS)


def version(conn: Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: Connection, *, source: str) -> int:
    """Bring the schema to ``LATEST``; return the version the store had before."""
    start = version(conn)
    if start > LATEST:
        raise StoreError(
            f"{source} was written by a newer edge_dan (schema {start}, this one knows {LATEST}); "
            "upgrade edge_dan"
        )
    for target in range(start + 1, LATEST + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if version(conn) == target - 1:  # another process may have migrated meanwhile
                MIGRATIONS[target - 1](conn)
                conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return start
