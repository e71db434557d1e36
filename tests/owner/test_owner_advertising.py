"""The owner's advertising keys: ours is stable until an unpairing, partners' keys follow them."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from edge_dan.discovery.tokens import Recogniser, TokenRotator
from edge_dan.identity import Identity
from edge_dan.owner import NotPaired, Owner
from edge_dan.pairing.result import PairingResult
from edge_dan.store import KdfParams


def pair(owner: Owner, name: str) -> Identity:
    peer = Identity.generate()
    result = PairingResult(
        method="numeric",
        peer_static=peer.static_public_key,
        advert_key=secrets.token_bytes(32),
        handshake_hash=secrets.token_bytes(64),
    )
    owner.peers.add(peer.public_key, result, name)
    return peer


def test_own_key_is_made_once_and_survives_reopen(tmp_path: Path, fast_kdf: KdfParams) -> None:
    with Owner.create(tmp_path / "home", "pass phrase", kdf=fast_kdf) as owner:
        key = owner.advertising.own_key()
        assert len(key) == 32
        assert owner.advertising.own_key() == key
    with Owner.open(tmp_path / "home", "pass phrase") as again:
        assert again.advertising.own_key() == key
        assert again.advertising.rotate() != key
        assert again.advertising.own_key() != key


def test_rotation_replaces_the_key(owner: Owner) -> None:
    key = owner.advertising.own_key()
    assert owner.advertising.rotate() != key
    assert owner.advertising.own_key() != key


def test_partner_keys_are_kept_only_for_paired_peers(owner: Owner) -> None:
    alice = pair(owner, "Alice")
    bob = pair(owner, "Bob")
    assert owner.advertising.partner_keys() == {}
    alice_key = secrets.token_bytes(32)
    owner.advertising.set_partner_key(alice.public_key, alice_key)
    assert owner.advertising.partner_keys() == {alice.public_key: alice_key}
    stranger = Identity.generate()
    with pytest.raises(NotPaired):
        owner.advertising.set_partner_key(stranger.public_key, secrets.token_bytes(32))
    with pytest.raises(ValueError, match="32 bytes"):
        owner.advertising.set_partner_key(bob.public_key, b"short")
    assert stranger.public_key not in owner.advertising.partner_keys()


def test_unpairing_rotates_our_key_so_the_former_partner_cannot_track_us(owner: Owner) -> None:
    alice = pair(owner, "Alice")
    before = owner.advertising.own_key()
    # Alice's device kept our key; our advert recognised by it before the unpairing ...
    alice_view = Recogniser({b"us": before}, period=60.0)
    assert alice_view.recognise(TokenRotator(before, period=60.0).advert(5.0), 5.0) == b"us"
    assert owner.peers.remove(alice.public_key)
    after = owner.advertising.own_key()
    assert after != before
    # ... and not after it.
    assert alice_view.recognise(TokenRotator(after, period=60.0).advert(5.0), 5.0) is None
    # Removing someone who is not paired changes nothing.
    assert not owner.peers.remove(alice.public_key)
    assert owner.advertising.own_key() == after
