"""Paired peers in the encrypted store: add, get, list, unpair."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from edge_dan.identity import Identity
from edge_dan.pairing.result import PairingResult
from edge_dan.store import KdfParams, Store, schema
from edge_dan.store.peers import (
    PeerAlreadyPaired,
    PeerNameError,
    add_peer,
    find_by_static_key,
    get_peer,
    list_peers,
    remove_peer,
)


def result(method: str = "numeric") -> tuple[Identity, PairingResult]:
    peer = Identity.generate()
    return peer, PairingResult(
        method=method,  # type: ignore[arg-type]
        peer_static=peer.static_public_key,
        advert_key=secrets.token_bytes(32),
        handshake_hash=secrets.token_bytes(64),
    )


def test_migration_creates_the_peers_table(store: Store) -> None:
    assert schema.version(store.conn) == schema.LATEST >= 2
    assert store.conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert list_peers(store) == []


def test_add_get_list_and_survive_reopen(tmp_path: Path, fast_kdf: KdfParams) -> None:
    home = tmp_path / "home"
    bob, bob_result = result()
    carol, carol_result = result("qr")
    with Store.create(home, "pass phrase", kdf=fast_kdf) as store:
        added = add_peer(store, bob.public_key, bob_result, "  Bob  ")
        add_peer(store, carol.public_key, carol_result, "Carol")
        assert added.name == "Bob" and added.fingerprint == bob.fingerprint
        assert bob_result.advert_key.hex() not in repr(added)
    with Store.open(home, "pass phrase") as store:
        got = get_peer(store, bob.public_key)
        assert got == added
        assert got is not None and got.advert_key == bob_result.advert_key
        assert got.static_key == bob.static_public_key and got.method == "numeric"
        assert find_by_static_key(store, carol.static_public_key) == get_peer(
            store, carol.public_key
        )
        assert [p.name for p in list_peers(store)] == ["Bob", "Carol"]
        assert get_peer(store, secrets.token_bytes(32)) is None
    # At rest everything is inside SQLCipher pages: no key or name appears in the file.
    raw = b"".join(p.read_bytes() for p in home.iterdir() if p.name.startswith("store.db"))
    assert bob_result.advert_key not in raw and b"Carol" not in raw


def test_unpair_removes_the_peer_and_its_key(store: Store) -> None:
    bob, bob_result = result()
    add_peer(store, bob.public_key, bob_result, "Bob")
    assert remove_peer(store, bob.public_key) is True
    assert get_peer(store, bob.public_key) is None
    assert find_by_static_key(store, bob.static_public_key) is None
    assert list_peers(store) == []
    assert remove_peer(store, bob.public_key) is False
    rows = store.conn.execute("SELECT count(*) FROM paired_peers").fetchone()[0]
    assert rows == 0
    add_peer(store, bob.public_key, bob_result, "Bob again")  # pairing again works after unpair


def test_pairing_twice_is_refused(store: Store) -> None:
    bob, bob_result = result()
    add_peer(store, bob.public_key, bob_result, "Bob")
    with pytest.raises(PeerAlreadyPaired, match="Bob"):
        add_peer(store, bob.public_key, bob_result, "Bob 2")
    mallory = Identity.generate()
    with pytest.raises(PeerAlreadyPaired):  # someone else's session key under a new identity
        add_peer(store, mallory.public_key, bob_result, "Mallory")
    assert len(list_peers(store)) == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "bad\nname", "nul\x00", "rtl\u202e"])
def test_bad_names_are_refused(store: Store, name: str) -> None:
    bob, bob_result = result()
    with pytest.raises(PeerNameError):
        add_peer(store, bob.public_key, bob_result, name)
    assert list_peers(store) == []


def test_a_version_1_store_gains_the_peers_table(
    tmp_path: Path, fast_kdf: KdfParams, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
    monkeypatch.setattr(schema, "LATEST", 1)
    with Store.create(home, "pass phrase", kdf=fast_kdf) as old:
        assert schema.version(old.conn) == 1
        assert "paired_peers" not in old.db.table_names()
    monkeypatch.undo()
    with Store.open(home, "pass phrase") as store:
        assert schema.version(store.conn) == schema.LATEST >= 2
        bob, bob_result = result()
        add_peer(store, bob.public_key, bob_result, "Bob")
        assert get_peer(store, bob.public_key) is not None
