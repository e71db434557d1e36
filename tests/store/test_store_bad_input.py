"""The store's API given what a caller should not give: each is a named store error, never an
OSError, UnicodeEncodeError or OverflowError from underneath (which the CLI reports as a bug)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_dan.errors import StoreCorrupt, StoreError, UsageError
from edge_dan.owner import Owner
from edge_dan.store import KdfParams, Store
from edge_dan.store.home import SettingsCorrupt, check_home, read_settings, resolve_home

PASS = "correct horse"
NOT_UTF8 = "caf\udce9"  # the Latin-1 bytes of "café" as os.environ or argv hold them


def test_a_passphrase_that_is_not_text_is_refused_before_anything_is_made(
    tmp_path: Path, fast_kdf: KdfParams
) -> None:
    home = tmp_path / "home"
    with pytest.raises(UsageError, match="not valid UTF-8"):
        Store.create(home, NOT_UTF8, kdf=fast_kdf)
    assert not home.exists()


def test_opening_or_rewrapping_with_a_passphrase_that_is_not_text(store: Store) -> None:
    with pytest.raises(UsageError, match="not valid UTF-8"):
        Store.open(store.home, NOT_UTF8)
    with pytest.raises(UsageError, match="not valid UTF-8"):
        store.change_passphrase(NOT_UTF8, kdf=store.kdf)
    store.close()
    Store.open(store.home, PASS).close()  # unchanged


def test_a_home_the_system_refuses_is_a_store_error(tmp_path: Path) -> None:
    long_name = tmp_path / ("a" * 300)
    with pytest.raises(StoreError, match="File name too long"):
        Store.exists(long_name)
    with pytest.raises(StoreError, match="File name too long"):
        check_home(long_name)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="not a directory"):
        check_home(blocker)
    check_home(tmp_path / "not yet made")  # init makes it


def test_an_explicit_empty_home_is_refused_not_the_default() -> None:
    with pytest.raises(UsageError, match="empty path"):
        resolve_home("")


def test_a_zero_byte_database_is_refused_and_not_written(store: Store) -> None:
    home = store.home
    store.close()
    (home / "store.db").write_bytes(b"")
    with pytest.raises(StoreCorrupt, match="empty"):
        Owner.open(home, PASS)
    assert (home / "store.db").stat().st_size == 0
    assert not (home / "store.db-wal").exists()


@pytest.mark.parametrize("limit", [-1, 2**63, 10**20])
def test_a_history_limit_sqlite_cannot_take_is_a_usage_error(owner: Owner, limit: int) -> None:
    with pytest.raises(UsageError, match="history limit"):
        owner.profile.history(limit=limit)
    with pytest.raises(UsageError, match="history limit"):
        owner.feedback.history(limit=limit)
    assert owner.profile.history(limit=2**63 - 1) == owner.profile.history()


def test_settings_nested_too_deeply_are_reported_as_settings_to_reset(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text("[" * 50_000 + "]" * 50_000)
    with pytest.raises(SettingsCorrupt, match="delete it to reset settings"):
        read_settings(tmp_path)
