"""``owner.identity``: the agent's one identity (signing key and Noise static key), kept secret."""

from __future__ import annotations

from edge_dan.identity import Identity
from edge_dan.store.store import Store, now_iso


class OwnIdentity:
    """The identity row: made on first use, replaced when the static key is rotated."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self) -> Identity | None:
        """The identity, or ``None`` before one was made."""
        row = self._store.fetch_one(
            "SELECT signing_seed, static_private, static_signature FROM identity WHERE id = 1"
        )
        if row is None:
            return None
        return Identity.from_secrets(bytes(row[0]), bytes(row[1]), bytes(row[2]))

    def save(self, identity: Identity) -> None:
        """Insert or replace the one identity (replacing is how a static key rotation is kept)."""
        with self._store.transaction() as conn:
            conn.execute(
                "INSERT INTO identity (id, signing_seed, static_private, static_signature,"
                " created_at) VALUES (1, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
                " signing_seed = excluded.signing_seed, static_private = excluded.static_private,"
                " static_signature = excluded.static_signature",
                (
                    identity.signing_seed,
                    identity.static_private,
                    identity.static_signature,
                    now_iso(),
                ),
            )

    def ensure(self) -> Identity:
        """The identity, made and kept on first use."""
        identity = self.get()
        if identity is None:
            identity = Identity.generate()
            self.save(identity)
        return identity
