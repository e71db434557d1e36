"""A store opened with a raw 32-byte key instead of a passphrase (issue #16): phones keep the key
in the OS keystore and hand it over; the key file wraps the database key under it, as it does
under a passphrase's Argon2id key. Runs on both engines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from crash_writer import FAST_KDF

from edge_dan.errors import UsageError, WrongPassphrase
from edge_dan.store import Store


def test_a_store_made_with_a_key_opens_with_it_and_keeps_data(tmp_path: Path) -> None:
    key = os.urandom(32)
    with Store.create(tmp_path / "h", key=key) as store, store.transaction() as conn:
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.execute("INSERT INTO t VALUES ('kept')")
    with Store.open(tmp_path / "h", key=key) as again:
        assert again.fetch_all("SELECT x FROM t") == [("kept",)]
    with pytest.raises(WrongPassphrase, match="wrong key"):
        Store.open(tmp_path / "h", key=os.urandom(32))
    with pytest.raises(WrongPassphrase):
        Store.open(tmp_path / "h", "a passphrase is not the key")


def test_a_key_store_can_move_to_a_passphrase(tmp_path: Path) -> None:
    key = os.urandom(32)
    with Store.create(tmp_path / "h", key=key) as store:
        store.change_passphrase("now a passphrase", kdf=FAST_KDF)
    with Store.open(tmp_path / "h", "now a passphrase") as again:
        assert again.get_meta("store_id") == again.store_id
    with pytest.raises(WrongPassphrase):
        Store.open(tmp_path / "h", key=key)


@pytest.mark.parametrize(
    ("passphrase", "key", "message"),
    [
        (None, None, "passphrase or its key"),
        ("both", bytes(32), "passphrase or its key"),
        (None, bytes(31), "32 bytes"),
        (None, "x" * 32, "32 bytes"),
    ],
)
def test_one_secret_of_the_right_shape_is_asked(
    tmp_path: Path, passphrase: str | None, key: object, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        Store.create(tmp_path / "h", passphrase, key=key, kdf=FAST_KDF)  # type: ignore[arg-type]
    assert not (tmp_path / "h").exists()
    with pytest.raises(UsageError, match=message):
        Store.open(tmp_path / "h", passphrase, key=key)  # type: ignore[arg-type]
