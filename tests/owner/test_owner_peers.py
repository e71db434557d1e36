"""The owner's paired peers: add, get, list, unpair."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from edge_dan.identity import Identity
from edge_dan.owner import (
    SCHEMA,
    AmbiguousPeer,
    Owner,
    PeerAlreadyPaired,
    PeerNameError,
    UnknownPeer,
)
from edge_dan.pairing.result import PairingResult
from edge_dan.store import KdfParams, Schema, Store
from edge_dan.store.schema import version


def result(method: str = "numeric") -> tuple[Identity, PairingResult]:
    peer = Identity.generate()
    return peer, PairingResult(
        method=method,  # type: ignore[arg-type]
        peer_static=peer.static_public_key,
        advert_key=secrets.token_bytes(32),
        handshake_hash=secrets.token_bytes(64),
    )


def test_migration_creates_the_peers_table(owner: Owner) -> None:
    assert version(owner.store.conn) == SCHEMA.latest >= 2
    assert owner.store.conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert owner.peers.list() == []


def test_add_get_list_and_survive_reopen(tmp_path: Path, fast_kdf: KdfParams) -> None:
    home = tmp_path / "home"
    bob, bob_result = result()
    carol, carol_result = result("qr")
    with Owner.create(home, "pass phrase", kdf=fast_kdf) as owner:
        added = owner.peers.add(bob.public_key, bob_result, "  Bob  ")
        owner.peers.add(carol.public_key, carol_result, "Carol")
        assert added.name == "Bob" and added.fingerprint == bob.fingerprint
        assert bob_result.advert_key.hex() not in repr(added)
    with Owner.open(home, "pass phrase") as owner:
        got = owner.peers.get(bob.public_key)
        assert got == added
        assert got is not None and got.advert_key == bob_result.advert_key
        assert got.static_key == bob.static_public_key and got.method == "numeric"
        assert owner.peers.find_by_static_key(carol.static_public_key) == owner.peers.get(
            carol.public_key
        )
        assert [p.name for p in owner.peers.list()] == ["Bob", "Carol"]
        assert owner.peers.get(secrets.token_bytes(32)) is None
    # At rest everything is inside SQLCipher pages: no key or name appears in the file.
    raw = b"".join(p.read_bytes() for p in home.iterdir() if p.name.startswith("store.db"))
    assert bob_result.advert_key not in raw and b"Carol" not in raw


def test_unpair_removes_the_peer_and_its_key(owner: Owner) -> None:
    bob, bob_result = result()
    owner.peers.add(bob.public_key, bob_result, "Bob")
    assert owner.peers.remove(bob.public_key) is True
    assert owner.peers.get(bob.public_key) is None
    assert owner.peers.find_by_static_key(bob.static_public_key) is None
    assert owner.peers.list() == []
    assert owner.peers.remove(bob.public_key) is False
    rows = owner.store.conn.execute("SELECT count(*) FROM paired_peers").fetchone()[0]
    assert rows == 0
    owner.peers.add(bob.public_key, bob_result, "Bob again")  # pairing again works after unpair


def test_pairing_twice_is_refused(owner: Owner) -> None:
    bob, bob_result = result()
    owner.peers.add(bob.public_key, bob_result, "Bob")
    with pytest.raises(PeerAlreadyPaired, match="Bob"):
        owner.peers.add(bob.public_key, bob_result, "Bob 2")
    mallory = Identity.generate()
    with pytest.raises(PeerAlreadyPaired):  # someone else's session key under a new identity
        owner.peers.add(mallory.public_key, bob_result, "Mallory")
    assert len(owner.peers.list()) == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "bad\nname", "nul\x00", "rtl\u202e"])
def test_bad_names_are_refused(owner: Owner, name: str) -> None:
    bob, bob_result = result()
    with pytest.raises(PeerNameError):
        owner.peers.add(bob.public_key, bob_result, name)
    assert owner.peers.list() == []


def test_a_version_1_store_gains_the_peers_table(tmp_path: Path, fast_kdf: KdfParams) -> None:
    home = tmp_path / "home"
    first = Schema(SCHEMA.migrations[:1])
    with Store.create(home, "pass phrase", kdf=fast_kdf, schema=first) as old:
        assert version(old.conn) == 1
        assert "paired_peers" not in old.db.table_names()
    with Owner.open(home, "pass phrase") as owner:
        assert version(owner.store.conn) == SCHEMA.latest >= 2
        bob, bob_result = result()
        owner.peers.add(bob.public_key, bob_result, "Bob")
        assert owner.peers.get(bob.public_key) is not None


def test_rename_checks_the_name_and_refuses_another_peers(owner: Owner) -> None:
    bob, bob_result = result()
    carol, carol_result = result("qr")
    owner.peers.add(bob.public_key, bob_result, "Bob")
    owner.peers.add(carol.public_key, carol_result, "Carol")
    renamed = owner.peers.rename(bob.public_key, "  Robert ")
    assert renamed.name == "Robert" and renamed == owner.peers.get(bob.public_key)
    assert owner.peers.rename(bob.public_key, "ROBERT").name == "ROBERT"  # its own name, recased
    for taken in ("Carol", "carol"):
        with pytest.raises(PeerNameError, match="another partner"):
            owner.peers.rename(bob.public_key, taken)
    with pytest.raises(PeerNameError):
        owner.peers.rename(bob.public_key, "\u200b")  # a format character only
    with pytest.raises(UnknownPeer):
        owner.peers.rename(secrets.token_bytes(32), "Dave")
    assert [p.name for p in owner.peers.list()] == ["Carol", "ROBERT"]


def test_find_by_name_or_fingerprint_prefix_never_guesses(owner: Owner) -> None:
    bob, bob_result = result()
    other, other_result = result()
    owner.peers.add(bob.public_key, bob_result, "Bob")
    assert owner.peers.find(" bob ").identity_key == bob.public_key
    assert owner.peers.find(bob.fingerprint[:4].upper()).identity_key == bob.public_key
    assert owner.peers.find(bob.fingerprint.replace("-", "")).identity_key == bob.public_key
    with pytest.raises(UnknownPeer):
        owner.peers.find(bob.fingerprint[:3])  # too short to be taken for a fingerprint
    with pytest.raises(UnknownPeer):
        owner.peers.find("Alice")
    owner.peers.add(other.public_key, other_result, "BOB")
    with pytest.raises(AmbiguousPeer) as raised:
        owner.peers.find("bob")
    assert "bob" not in str(raised.value).lower()
    assert owner.peers.find(other.fingerprint[:9]).identity_key == other.public_key
