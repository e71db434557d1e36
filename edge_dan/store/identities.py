"""Keeping the agent's identity in the store."""

from __future__ import annotations

from edge_dan.identity import Identity
from edge_dan.store.store import Store, now_iso


def load_identity(store: Store) -> Identity | None:
    row = store.conn.execute(
        "SELECT signing_seed, static_private, static_signature FROM identity WHERE id = 1"
    ).fetchone()
    if row is None:
        return None
    return Identity.from_secrets(bytes(row[0]), bytes(row[1]), bytes(row[2]))


def save_identity(store: Store, identity: Identity) -> None:
    """Insert or replace the one identity (replacing is how a static key rotation is stored)."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO identity (id, signing_seed, static_private, static_signature, created_at)"
            " VALUES (1, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
            " signing_seed = excluded.signing_seed, static_private = excluded.static_private,"
            " static_signature = excluded.static_signature",
            (identity.signing_seed, identity.static_private, identity.static_signature, now_iso()),
        )


def ensure_identity(store: Store) -> Identity:
    """The store's identity, created on first use."""
    identity = load_identity(store)
    if identity is None:
        identity = Identity.generate()
        save_identity(store, identity)
    return identity
