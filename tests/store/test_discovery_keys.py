"""Advertising keys in the store: ours is stable until an unpairing, partners' keys follow them."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from edge_dan.discovery.tokens import Recogniser, TokenRotator
from edge_dan.identity import Identity
from edge_dan.pairing.result import PairingResult
from edge_dan.store import KdfParams, Store
from edge_dan.store.discovery_keys import (
    NotPaired,
    own_advertising_key,
    partner_advertising_keys,
    rotate_advertising_key,
    set_partner_advertising_key,
)
from edge_dan.store.peers import add_peer, remove_peer


def pair(store: Store, name: str) -> Identity:
    peer = Identity.generate()
    result = PairingResult(
        method="numeric",
        peer_static=peer.static_public_key,
        advert_key=secrets.token_bytes(32),
        handshake_hash=secrets.token_bytes(64),
    )
    add_peer(store, peer.public_key, result, name)
    return peer


def test_own_key_is_made_once_and_survives_reopen(tmp_path: Path, fast_kdf: KdfParams) -> None:
    with Store.create(tmp_path / "home", "pass phrase", kdf=fast_kdf) as store:
        key = own_advertising_key(store)
        assert len(key) == 32
        assert own_advertising_key(store) == key
    with Store.open(tmp_path / "home", "pass phrase") as again:
        assert own_advertising_key(again) == key
        assert rotate_advertising_key(again) != key
        assert own_advertising_key(again) != key


def test_rotation_replaces_the_key(store: Store) -> None:
    key = own_advertising_key(store)
    assert rotate_advertising_key(store) != key
    assert own_advertising_key(store) != key


def test_partner_keys_are_kept_only_for_paired_peers(store: Store) -> None:
    alice = pair(store, "Alice")
    bob = pair(store, "Bob")
    assert partner_advertising_keys(store) == {}
    alice_key = secrets.token_bytes(32)
    set_partner_advertising_key(store, alice.public_key, alice_key)
    assert partner_advertising_keys(store) == {alice.public_key: alice_key}
    stranger = Identity.generate()
    with pytest.raises(NotPaired):
        set_partner_advertising_key(store, stranger.public_key, secrets.token_bytes(32))
    with pytest.raises(ValueError, match="32 bytes"):
        set_partner_advertising_key(store, bob.public_key, b"short")
    assert stranger.public_key not in partner_advertising_keys(store)


def test_unpairing_rotates_our_key_so_the_former_partner_cannot_track_us(store: Store) -> None:
    alice = pair(store, "Alice")
    before = own_advertising_key(store)
    # Alice's device kept our key; our advert recognised by it before the unpairing ...
    alice_view = Recogniser({b"us": before}, period=60.0)
    assert alice_view.recognise(TokenRotator(before, period=60.0).advert(5.0), 5.0) == b"us"
    assert remove_peer(store, alice.public_key)
    after = own_advertising_key(store)
    assert after != before
    # ... and not after it.
    assert alice_view.recognise(TokenRotator(after, period=60.0).advert(5.0), 5.0) is None
    # Removing someone who is not paired changes nothing.
    assert not remove_peer(store, alice.public_key)
    assert own_advertising_key(store) == after
