"""``owner.peers``: paired peers, who they are, the key they pair with, and the pair's secret.

A peer is keyed by its Ed25519 identity key. Next to it: the X25519 Noise static key it presented
when pairing (a later session with another static key is refused, see ``edge_dan.pairing.policy``,
which looks peers up through ``Peers.get`` and ``Peers.find_by_static_key``), the identity
fingerprint, the name the owner chose, the advertisement key shared at pairing (the secret behind
discovery's rotating tokens), when and how the pairing happened.

``find`` turns what the owner types (a name, or the start of a fingerprint) into one peer, and
``rename`` changes the owner's name for one. Unpairing deletes the row; the store runs with
``secure_delete`` on, so the key material is overwritten inside the encrypted pages, and a WAL
checkpoint afterwards moves the change out of the write-ahead log.
"""

from __future__ import annotations

import builtins
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from edge_dan.errors import StoreError
from edge_dan.identity import fingerprint
from edge_dan.owner.advertising import rotate_in
from edge_dan.owner.errors import AmbiguousPeer, PeerAlreadyPaired, PeerNameError, UnknownPeer
from edge_dan.pairing.result import METHODS, PairingMethod, PairingResult
from edge_dan.store.store import Store, now_iso

MAX_NAME_LEN = 64
# A fingerprint prefix shorter than one group could be mistaken for a short name, and narrows
# nothing down anyway.
MIN_FINGERPRINT_PREFIX = 4

_SELECT = (
    "SELECT identity_key, static_key, fingerprint, name, advert_key, paired_at, method"
    " FROM paired_peers"
)


@dataclass(frozen=True, repr=False)
class Peer:
    """A partner the owner paired with, as the store keeps it (its repr never shows the key
    the pair shares for discovery)::

        for peer in owner.peers.list():
            print(peer.name, peer.fingerprint, "paired", peer.paired_at, "by", peer.method)
    """

    identity_key: bytes  # Ed25519 public key
    static_key: bytes  # X25519 Noise static public key presented at pairing
    fingerprint: str
    name: str
    advert_key: bytes  # secret: the pair's key for discovery tokens
    paired_at: str  # ISO 8601, UTC
    method: PairingMethod

    def __repr__(self) -> str:  # never the advert key
        return f"Peer(name={self.name!r}, fingerprint={self.fingerprint!r}, method={self.method!r})"


def check_name(name: str) -> str:
    """The owner's name for a peer, NFC-normalised and stripped; ``PeerNameError`` if unusable."""
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not 1 <= len(cleaned) <= MAX_NAME_LEN:
        raise PeerNameError(f"a peer name has 1 to {MAX_NAME_LEN} characters")
    if any(unicodedata.category(c).startswith("C") for c in cleaned):
        raise PeerNameError("a peer name cannot contain control or format characters")
    return cleaned


def _same_name(a: str, b: str) -> bool:
    # Names are the owner's words: "bob" and "Bob" are one name to a person.
    return a.casefold() == b.casefold()


def _fingerprint_chars(text: str) -> str:
    """A fingerprint as typed, without separators, in its alphabet's lower case."""
    return "".join(c for c in text if c not in "- ").lower()


def peer_from_row(row: Any) -> Peer:
    identity_key, static_key, fpr, name, advert_key, paired_at, method = row
    if method not in METHODS:
        raise StoreError(f"a stored peer has an unknown pairing method {method!r}")
    return Peer(
        bytes(identity_key),
        bytes(static_key),
        str(fpr),
        str(name),
        bytes(advert_key),
        str(paired_at),
        method,
    )


class Peers:
    """The paired peers, by identity key (also a ``pairing.policy.PeerLookup``)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, identity_key: bytes, result: PairingResult, name: str) -> Peer:
        """Keep a peer after a successful pairing; ``PeerAlreadyPaired`` if it (or its key) is
        known."""
        if len(identity_key) != 32:
            raise ValueError("an Ed25519 identity key is 32 bytes")
        if result.method not in METHODS or len(result.peer_static) != 32:
            raise ValueError("not a usable pairing result")
        peer = Peer(
            identity_key=bytes(identity_key),
            static_key=bytes(result.peer_static),
            fingerprint=fingerprint(identity_key),
            name=check_name(name),
            advert_key=bytes(result.advert_key),
            paired_at=now_iso(),
            method=result.method,
        )
        with self._store.transaction() as conn:
            known = conn.execute(
                "SELECT name FROM paired_peers WHERE identity_key = ? OR static_key = ?",
                (peer.identity_key, peer.static_key),
            ).fetchone()
            if known is not None:
                raise PeerAlreadyPaired(
                    f"{peer.fingerprint} (or its session key) is paired already as {known[0]!r}; "
                    "unpair it first to pair again"
                )
            conn.execute(
                "INSERT INTO paired_peers (identity_key, static_key, fingerprint, name,"
                " advert_key, paired_at, method) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    peer.identity_key,
                    peer.static_key,
                    peer.fingerprint,
                    peer.name,
                    peer.advert_key,
                    peer.paired_at,
                    peer.method,
                ),
            )
        return peer

    def get(self, identity_key: bytes) -> Peer | None:
        row = self._store.fetch_one(_SELECT + " WHERE identity_key = ?", (bytes(identity_key),))
        return None if row is None else peer_from_row(row)

    def find_by_static_key(self, static_key: bytes) -> Peer | None:
        row = self._store.fetch_one(_SELECT + " WHERE static_key = ?", (bytes(static_key),))
        return None if row is None else peer_from_row(row)

    def list(self) -> builtins.list[Peer]:
        """Every paired peer, by name."""
        rows = self._store.fetch_all(_SELECT + " ORDER BY name, paired_at")
        return [peer_from_row(row) for row in rows]

    def find(self, query: str) -> Peer:
        """The one peer named ``query`` (case aside) or whose fingerprint starts with it.

        A query matching several peers, by name or by fingerprint or one of each, is
        ``AmbiguousPeer``: an unpairing must never reach a peer the owner did not mean.
        ``UnknownPeer`` if none matches. Messages name no peer and repeat no query.
        """
        wanted = unicodedata.normalize("NFC", query).strip()
        prefix = _fingerprint_chars(wanted)
        by_prefix = len(prefix) >= MIN_FINGERPRINT_PREFIX
        matches = [
            peer
            for peer in self.list()
            if _same_name(peer.name, wanted)
            or (by_prefix and _fingerprint_chars(peer.fingerprint).startswith(prefix))
        ]
        if not matches:
            raise UnknownPeer("no partner has that name or fingerprint")
        if len(matches) > 1:
            raise AmbiguousPeer(
                f"{len(matches)} partners answer to that; give more of the fingerprint"
            )
        return matches[0]

    def rename(self, identity_key: bytes, name: str) -> Peer:
        """Give a peer another name; ``PeerNameError`` if the name is unusable or another peer
        has it already (case aside), ``UnknownPeer`` if the peer is not paired."""
        new_name = check_name(name)
        key = bytes(identity_key)
        with self._store.transaction() as conn:
            row = conn.execute(_SELECT + " WHERE identity_key = ?", (key,)).fetchone()
            if row is None:
                raise UnknownPeer("no partner has that name or fingerprint")
            others = conn.execute(
                "SELECT name FROM paired_peers WHERE identity_key != ?", (key,)
            ).fetchall()
            if any(_same_name(str(other), new_name) for (other,) in others):
                raise PeerNameError("another partner has that name already")
            conn.execute("UPDATE paired_peers SET name = ? WHERE identity_key = ?", (new_name, key))
        return replace(peer_from_row(row), name=new_name)

    def remove(self, identity_key: bytes) -> bool:
        """Unpair: delete the peer and its keys, and replace our advertising key. True if it was
        paired.

        The former partner knows our advertising key; replacing it in the same transaction means
        it cannot recognise (so cannot track) our adverts from now on.
        """
        with self._store.transaction() as conn:
            deleted = conn.execute(
                "DELETE FROM paired_peers WHERE identity_key = ?", (bytes(identity_key),)
            ).rowcount
            if deleted:
                rotate_in(conn)
        self._store.checkpoint()  # the deleted cells leave the write-ahead log too
        return bool(deleted)
