"""``owner.advertising``: advertising keys, ours and the one each partner gave us.

Our key is made on first use and replaced when a peer is unpaired (``Peers.remove`` rotates it in
the same transaction), so a former partner stops recognising our adverts at once. The partners who
remain get the new key at their next session with us (``AdvertisingKeyGrant``); until then they see
us as a stranger, which errs on the side of privacy. See ``edge_dan.discovery.tokens`` for why the
key is per agent rather than per pair.
"""

from __future__ import annotations

from edge_dan.discovery.tokens import ADVERTISING_KEY_LEN, new_advertising_key
from edge_dan.owner.errors import NotPaired
from edge_dan.store.sqlcipher import Connection
from edge_dan.store.store import Store, now_iso

_ROTATE = (
    "INSERT INTO advertising_key (id, key, created_at) VALUES (1, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET key = excluded.key, created_at = excluded.created_at"
)


def rotate_in(conn: Connection) -> bytes:
    """Replace our key inside the caller's transaction; the new key."""
    key = new_advertising_key()
    conn.execute(_ROTATE, (key, now_iso()))
    return key


class Advertising:
    """Our advertising key and the partners' keys."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def own_key(self) -> bytes:
        """This agent's advertising key, made on first use."""
        row = self._store.fetch_one("SELECT key FROM advertising_key WHERE id = 1")
        if row is not None:
            return bytes(row[0])
        with self._store.transaction() as conn:
            row = conn.execute("SELECT key FROM advertising_key WHERE id = 1").fetchone()
            if row is not None:  # another process made it meanwhile
                return bytes(row[0])
            key = new_advertising_key()
            conn.execute(
                "INSERT INTO advertising_key (id, key, created_at) VALUES (1, ?, ?)",
                (key, now_iso()),
            )
        return key

    def rotate(self) -> bytes:
        """Replace our key; every partner needs the new one."""
        with self._store.transaction() as conn:
            return rotate_in(conn)

    def set_partner_key(self, identity_key: bytes, key: bytes) -> None:
        """Keep the advertising key a paired peer granted us; ``NotPaired`` if it is not paired."""
        if len(key) != ADVERTISING_KEY_LEN:
            raise ValueError(f"an advertising key has {ADVERTISING_KEY_LEN} bytes, got {len(key)}")
        with self._store.transaction() as conn:
            updated = conn.execute(
                "UPDATE paired_peers SET peer_advertising_key = ? WHERE identity_key = ?",
                (bytes(key), bytes(identity_key)),
            ).rowcount
        if not updated:
            raise NotPaired("an advertising key came from a peer that is not paired; ignored")

    def partner_keys(self) -> dict[bytes, bytes]:
        """Identity key -> advertising key, for every partner whose key has arrived."""
        rows = self._store.fetch_all(
            "SELECT identity_key, peer_advertising_key FROM paired_peers"
            " WHERE peer_advertising_key IS NOT NULL"
        )
        return {bytes(identity): bytes(key) for identity, key in rows}
