"""Policy after a handshake: unpaired peers may only pair; a changed key is refused loudly.

The policy looks peers up through anything with ``get`` and ``find_by_static_key``: the owner's
paired peers, or (to show pairing needs nothing above it) a dictionary in memory.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol

import pytest

from edge_dan.identity import Identity, fingerprint
from edge_dan.owner import Owner
from edge_dan.pairing.policy import (
    Access,
    PairedPeer,
    decide,
    key_fingerprint,
    require_paired,
)
from edge_dan.pairing.result import PairingResult
from edge_dan.wire.errors import PeerKeyChanged, PeerNotPaired, ProtocolError


@dataclass(frozen=True)
class Known:
    name: str
    fingerprint: str
    static_key: bytes


class MemoryPeers:
    """Paired peers in a dictionary: the policy's whole need."""

    def __init__(self) -> None:
        self._peers: dict[bytes, Known] = {}

    def add(self, identity_key: bytes, result: PairingResult, name: str) -> Known:
        known = Known(name, fingerprint(identity_key), result.peer_static)
        self._peers[identity_key] = known
        return known

    def remove(self, identity_key: bytes) -> bool:
        return self._peers.pop(identity_key, None) is not None

    def get(self, identity_key: bytes) -> Known | None:
        return self._peers.get(identity_key)

    def find_by_static_key(self, static_key: bytes) -> Known | None:
        return next((p for p in self._peers.values() if p.static_key == static_key), None)


class Lookup(Protocol):
    def add(self, identity_key: bytes, result: PairingResult, name: str) -> object: ...
    def remove(self, identity_key: bytes) -> bool: ...
    def get(self, identity_key: bytes) -> PairedPeer | None: ...
    def find_by_static_key(self, static_key: bytes) -> PairedPeer | None: ...


@pytest.fixture(params=["owner", "memory"])
def peers(request: pytest.FixtureRequest, owner: Owner) -> Lookup:
    return owner.peers if request.param == "owner" else MemoryPeers()


def pair(peers: Lookup, peer: Identity, name: str = "Bob") -> None:
    peers.add(
        peer.public_key,
        PairingResult("numeric", peer.static_public_key, secrets.token_bytes(32), b"h" * 64),
        name,
    )


def test_unknown_peer_may_only_pair(peers: Lookup) -> None:
    stranger = Identity.generate()
    decision = decide(peers, stranger.public_key, stranger.static_public_key)
    assert decision.access is Access.PAIRING_ONLY and decision.may_pair and not decision.paired
    assert decision.peer is None
    with pytest.raises(PeerNotPaired, match=stranger.fingerprint):
        require_paired(peers, stranger.public_key, stranger.static_public_key)


def test_paired_peer_with_its_key_is_allowed(peers: Lookup) -> None:
    bob = Identity.generate()
    pair(peers, bob)
    decision = decide(peers, bob.public_key, bob.static_public_key)
    assert decision.access is Access.PAIRED and decision.paired and not decision.may_pair
    assert decision.peer is not None and decision.peer.name == "Bob"
    assert require_paired(peers, bob.public_key, bob.static_public_key).name == "Bob"


def test_paired_peer_with_another_static_key_is_refused_loudly(peers: Lookup) -> None:
    bob = Identity.generate()
    pair(peers, bob)
    rotated = bob.rotate_static_key()  # validly signed by Bob's identity, but not the paired key
    with pytest.raises(PeerKeyChanged) as caught:
        decide(peers, bob.public_key, rotated.static_public_key)
    message = str(caught.value)
    assert key_fingerprint(bob.static_public_key) in message
    assert key_fingerprint(rotated.static_public_key) in message
    assert bob.fingerprint in message and "Bob" in message
    assert isinstance(caught.value, ProtocolError)
    with pytest.raises(PeerKeyChanged):
        require_paired(peers, bob.public_key, rotated.static_public_key)


def test_paired_static_key_under_another_identity_is_refused(peers: Lookup) -> None:
    bob, mallory = Identity.generate(), Identity.generate()
    pair(peers, bob)
    with pytest.raises(PeerKeyChanged, match=key_fingerprint(bob.static_public_key)):
        decide(peers, mallory.public_key, bob.static_public_key)


def test_after_unpairing_the_peer_may_only_pair_again(peers: Lookup) -> None:
    bob = Identity.generate()
    pair(peers, bob)
    peers.remove(bob.public_key)
    rotated = bob.rotate_static_key()
    assert decide(peers, bob.public_key, rotated.static_public_key).may_pair
