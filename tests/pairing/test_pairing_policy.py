"""Policy after a handshake: unpaired peers may only pair; a changed key is refused loudly."""

from __future__ import annotations

import secrets

import pytest

from edge_dan.identity import Identity
from edge_dan.pairing.policy import Access, decide, key_fingerprint, require_paired
from edge_dan.pairing.result import PairingResult
from edge_dan.store import Store
from edge_dan.store.peers import add_peer, remove_peer
from edge_dan.wire.errors import PeerKeyChanged, PeerNotPaired, ProtocolError


def pair(store: Store, peer: Identity, name: str = "Bob") -> None:
    add_peer(
        store,
        peer.public_key,
        PairingResult("numeric", peer.static_public_key, secrets.token_bytes(32), b"h" * 64),
        name,
    )


def test_unknown_peer_may_only_pair(store: Store) -> None:
    stranger = Identity.generate()
    decision = decide(store, stranger.public_key, stranger.static_public_key)
    assert decision.access is Access.PAIRING_ONLY and decision.may_pair and not decision.paired
    assert decision.peer is None
    with pytest.raises(PeerNotPaired, match=stranger.fingerprint):
        require_paired(store, stranger.public_key, stranger.static_public_key)


def test_paired_peer_with_its_key_is_allowed(store: Store) -> None:
    bob = Identity.generate()
    pair(store, bob)
    decision = decide(store, bob.public_key, bob.static_public_key)
    assert decision.access is Access.PAIRED and decision.paired and not decision.may_pair
    assert decision.peer is not None and decision.peer.name == "Bob"
    assert require_paired(store, bob.public_key, bob.static_public_key).name == "Bob"


def test_paired_peer_with_another_static_key_is_refused_loudly(store: Store) -> None:
    bob = Identity.generate()
    pair(store, bob)
    rotated = bob.rotate_static_key()  # validly signed by Bob's identity, but not the paired key
    with pytest.raises(PeerKeyChanged) as caught:
        decide(store, bob.public_key, rotated.static_public_key)
    message = str(caught.value)
    assert key_fingerprint(bob.static_public_key) in message
    assert key_fingerprint(rotated.static_public_key) in message
    assert bob.fingerprint in message and "Bob" in message
    assert isinstance(caught.value, ProtocolError)
    with pytest.raises(PeerKeyChanged):
        require_paired(store, bob.public_key, rotated.static_public_key)


def test_paired_static_key_under_another_identity_is_refused(store: Store) -> None:
    bob, mallory = Identity.generate(), Identity.generate()
    pair(store, bob)
    with pytest.raises(PeerKeyChanged, match=key_fingerprint(bob.static_public_key)):
        decide(store, mallory.public_key, bob.static_public_key)


def test_after_unpairing_the_peer_may_only_pair_again(store: Store) -> None:
    bob = Identity.generate()
    pair(store, bob)
    remove_peer(store, bob.public_key)
    rotated = bob.rotate_static_key()
    assert decide(store, bob.public_key, rotated.static_public_key).may_pair
