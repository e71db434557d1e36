"""Advertising keys in the encrypted store: ours, and the one each partner gave us.

Our key is created on first use and replaced when a peer is unpaired (``remove_peer`` calls
``rotate_advertising_key`` in the same transaction), so a former partner stops recognising our
adverts at once. The partners who remain get the new key at their next session with us
(``AdvertisingKeyGrant``); until then they see us as a stranger, which errs on the side of privacy.
"""

from __future__ import annotations

from edge_dan.discovery.tokens import ADVERTISING_KEY_LEN, new_advertising_key
from edge_dan.errors import StoreError
from edge_dan.store.sqlcipher import Connection, translated
from edge_dan.store.store import Store, now_iso


class NotPaired(StoreError):
    """An advertising key came from a peer that is not paired; it is not kept."""


def own_advertising_key(store: Store) -> bytes:
    """This agent's advertising key, made on first use."""
    with translated(store.path):
        row = store.conn.execute("SELECT key FROM advertising_key WHERE id = 1").fetchone()
    if row is not None:
        return bytes(row[0])
    with store.transaction() as conn:
        row = conn.execute("SELECT key FROM advertising_key WHERE id = 1").fetchone()
        if row is not None:  # another process made it meanwhile
            return bytes(row[0])
        key = new_advertising_key()
        conn.execute(
            "INSERT INTO advertising_key (id, key, created_at) VALUES (1, ?, ?)", (key, now_iso())
        )
    return key


def rotate_advertising_key(store: Store, conn: Connection | None = None) -> bytes:
    """Replace our key (inside ``conn``'s transaction if given); every partner needs the new one."""
    key = new_advertising_key()
    statement = (
        "INSERT INTO advertising_key (id, key, created_at) VALUES (1, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET key = excluded.key, created_at = excluded.created_at"
    )
    if conn is not None:
        conn.execute(statement, (key, now_iso()))
        return key
    with store.transaction() as own:
        own.execute(statement, (key, now_iso()))
    return key


def set_partner_advertising_key(store: Store, identity_key: bytes, key: bytes) -> None:
    """Keep the advertising key a paired peer granted us; ``NotPaired`` if it is not paired."""
    if len(key) != ADVERTISING_KEY_LEN:
        raise ValueError(f"an advertising key has {ADVERTISING_KEY_LEN} bytes, got {len(key)}")
    with store.transaction() as conn:
        updated = conn.execute(
            "UPDATE paired_peers SET peer_advertising_key = ? WHERE identity_key = ?",
            (bytes(key), bytes(identity_key)),
        ).rowcount
    if not updated:
        raise NotPaired("an advertising key came from a peer that is not paired; ignored")


def partner_advertising_keys(store: Store) -> dict[bytes, bytes]:
    """Identity key -> advertising key, for every partner whose key has arrived."""
    with translated(store.path):
        rows = store.conn.execute(
            "SELECT identity_key, peer_advertising_key FROM paired_peers"
            " WHERE peer_advertising_key IS NOT NULL"
        ).fetchall()
    return {bytes(identity): bytes(key) for identity, key in rows}
