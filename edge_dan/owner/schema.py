"""The tables of the owner's data, as the migrations that made them (see ``edge_dan.store.schema``).

They live here, next to the classes that read and write them, rather than in the engine: the store
runs whatever ``Schema`` it is given and knows no table but its own ``meta``. ``Owner`` brings its
store to ``SCHEMA`` when it is made, so every way of reaching the owner's data (``Owner.open``,
``Owner(store)`` on a store opened otherwise, a restore with ``schema=SCHEMA``) sees the same
tables.

The migrations and their versions are exactly those stores were made with when the engine still
ran them itself (1 to 6), so every existing store opens as it is: version 1 no longer creates
``meta`` (the engine makes it first in every new database), and each statement keeps its text, so
a new store's ``sqlite_master`` is byte for byte what it was. Append only; never edit a released
migration.
"""

from __future__ import annotations

from edge_dan.store.schema import Schema, run_script
from edge_dan.store.sqlcipher import Connection


def _v1(conn: Connection) -> None:
    # The engine's own ``meta`` table came first in this migration; the engine now makes it in
    # every new database before any migration runs (edge_dan.store.schema).
    run_script(
        conn,
        """
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
    # Paired peers (edge_dan.owner.peers). advert_key is the per-pair secret behind discovery's
    # rotating tokens; unpairing deletes the row, and secure_delete overwrites it in the pages.
    # Not called "peers": a store test migrates a made-up table of that name on top of SCHEMA.
    run_script(
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
    # The owner's answers to "which do you prefer?" (edge_dan.owner.feedback): both option texts
    # (secret: they say what the owner weighs up) with the model scores they had when answered,
    # the fitted personal model, and a log of answers added and undone (no option texts in it).
    # AUTOINCREMENT so the number of an undone answer is never given to another.
    run_script(
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
    # Discovery (edge_dan.owner.advertising): this agent's own advertising key, and the one
    # each partner gave us after pairing (NULL until it arrives). See edge_dan.discovery.tokens
    # for why the key is per agent rather than per pair.
    run_script(
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
    # Signed agreements (edge_dan.owner.accords, edge_dan.owner.norms): accords and group norms,
    # each kept as the exact bytes the parties signed plus the columns needed to find them.
    # ``complete`` is 1 once every signature is in and verified; only those bind anyone.
    run_script(
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
    # Refusals the owner contested (edge_dan.owner.contests): the option text (secret, like every
    # option) and the key it is recognised by, so a contest applies to that text and nothing else.
    # Feedback rows written from now on keep the 10 signed value effects instead of the 20
    # category scores; older rows keep theirs (edge_dan.values.personal reads both).
    run_script(
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


def _check_rows(conn: Connection) -> None:
    # Imported when a restore runs: it reads every kind of row, so it loads what each needs.
    from edge_dan.owner.checks import check_rows

    check_rows(conn)


SCHEMA = Schema((_v1, _v2, _v3, _v4, _v5, _v6), check=_check_rows)
