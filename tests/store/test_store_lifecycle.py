"""Creating, opening, damaging and re-keying the encrypted store."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from edge_dan.errors import (
    StoreCorrupt,
    StoreError,
    StoreExists,
    StoreNotFound,
    WrongPassphrase,
)
from edge_dan.store import KdfParams, Schema, Store, schema
from edge_dan.store.engines import SEALED_MAGIC
from edge_dan.store.keyfile import KeyFile
from edge_dan.store.sqlcipher import Connection
from edge_dan.store.store import DATABASE, DATABASE_NEXT, KEYFILE, KEYFILE_NEXT

PASS = "correct horse"


def _snapshot(home: Path) -> dict[str, tuple[str, int, int]]:
    """Content hash, size and mtime of every file under ``home``."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(home.iterdir())
    }


def test_create_then_open_keeps_data(store: Store) -> None:
    store.db.table("notes").insert({"text": "hello"})
    home = store.home
    store.close()
    with Store.open(home, PASS) as again:
        assert [r["text"] for r in again.db.table("notes").rows] == ["hello"]
        # The engine alone keeps only its own table and runs no migrations.
        assert schema.version(again.conn) == 0
        assert set(again.db.table_names()) == {"meta", "notes"}


def test_files_are_private(store: Store) -> None:
    store.db.table("notes").insert({"text": "x"})
    assert stat.S_IMODE(store.home.stat().st_mode) == 0o700
    for path in store.home.iterdir():  # includes -wal and -shm while open
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert {p.name for p in store.home.iterdir()} >= {"keyfile.json", "store.db", "lock"}


def test_loose_home_permissions_are_tightened(tmp_path: Path, fast_kdf: KdfParams) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    Store.create(home, PASS, kdf=fast_kdf).close()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_create_twice_is_refused(store: Store, fast_kdf: KdfParams) -> None:
    with pytest.raises(StoreExists):
        Store.create(store.home, "other", kdf=fast_kdf)


def test_open_missing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFound, match="no store in") as missing:
        Store.open(tmp_path / "nothing-here", PASS)
    assert "edge-dan" not in str(missing.value)  # what to run is the CLI's to say


def test_empty_passphrase_refused(tmp_path: Path, fast_kdf: KdfParams) -> None:
    with pytest.raises(StoreError, match="empty"):
        Store.create(tmp_path / "h", "", kdf=fast_kdf)
    assert not (tmp_path / "h" / KEYFILE).exists()


def test_wrong_passphrase_modifies_nothing(store: Store) -> None:
    store.db.table("notes").insert({"text": "x"})
    home = store.home
    store.close()
    before = _snapshot(home)
    with pytest.raises(WrongPassphrase):
        Store.open(home, PASS + "!")
    assert _snapshot(home) == before


def test_flipped_byte_is_an_integrity_error_naming_the_file(store: Store) -> None:
    store.db.table("notes").insert_all({"text": f"row {i}" * 20} for i in range(500))
    home = store.home
    store.close()
    db = home / DATABASE
    size = db.stat().st_size
    for offset in (100, 4096 + 50, size // 2, size - 10):
        original = db.read_bytes()
        damaged = bytearray(original)
        damaged[offset] ^= 0x01
        db.write_bytes(bytes(damaged))
        with pytest.raises(StoreCorrupt, match=str(db)):
            Store.open(home, PASS)
        db.write_bytes(original)
    Store.open(home, PASS).close()  # undamaged again: opens


def test_truncated_database_is_an_integrity_error(store: Store) -> None:
    store.db.table("notes").insert_all({"text": "y" * 100} for _ in range(300))
    home = store.home
    store.close()
    db = home / DATABASE
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])
    with pytest.raises(StoreCorrupt):
        Store.open(home, PASS)


def test_missing_database_file(store: Store) -> None:
    home = store.home
    store.close()
    (home / DATABASE).unlink()
    with pytest.raises(StoreCorrupt, match="missing"):
        Store.open(home, PASS)


def test_key_file_from_another_store_is_detected(tmp_path: Path, fast_kdf: KdfParams) -> None:
    a = Store.create(tmp_path / "a", PASS, kdf=fast_kdf)
    b = Store.create(tmp_path / "b", PASS, kdf=fast_kdf)
    a.close()
    b.close()
    (tmp_path / "a" / KEYFILE).write_bytes((tmp_path / "b" / KEYFILE).read_bytes())
    with pytest.raises(StoreCorrupt):
        Store.open(tmp_path / "a", PASS)


def test_passwd_new_opens_old_fails(store: Store, fast_kdf: KdfParams) -> None:
    store.db.table("notes").insert({"text": "kept"})
    store.change_passphrase("new passphrase", kdf=fast_kdf)
    home = store.home
    store.close()
    with pytest.raises(WrongPassphrase):
        Store.open(home, PASS)
    with Store.open(home, "new passphrase") as again:
        assert [r["text"] for r in again.db.table("notes").rows] == ["kept"]


def test_passwd_uses_a_fresh_salt(store: Store, fast_kdf: KdfParams) -> None:
    salt = store.kdf.salt
    store.change_passphrase(PASS, kdf=fast_kdf)
    assert store.kdf.salt != salt


def _blocks(data: bytes, size: int = 16) -> set[bytes]:
    """The file's 16-byte blocks but the zero ones and a sealed snapshot's public magic."""
    return {data[i : i + size] for i in range(0, len(data), size)} - {b"\0" * size, SEALED_MAGIC}


def test_rekey_changes_every_byte_and_keeps_data(store: Store) -> None:
    rows = [{"n": i, "text": f"value {i}" * 10} for i in range(2000)]
    store.db.table("notes").insert_all(rows)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    old_bytes = store.path.read_bytes()
    old_wrapped = KeyFile.read(store.home / KEYFILE).wrapped
    store.rekey()
    store.db.table("notes").insert({"n": -1, "text": "after rekey"})  # the store stays usable
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    new_bytes = store.path.read_bytes()
    assert KeyFile.read(store.home / KEYFILE).wrapped != old_wrapped
    # No 16-byte block of the old file survives anywhere in the new one: new salt, key and IVs.
    assert not (_blocks(old_bytes) & _blocks(new_bytes))
    home = store.home
    store.close()
    with Store.open(home, PASS) as again:
        assert again.db.table("notes").count == 2001
        assert next(iter(again.db.table("notes").rows_where("n = 7")))["text"] == "value 7" * 10


def _notes(conn: Connection) -> None:
    conn.execute("CREATE TABLE notes (text TEXT NOT NULL)")


def _tags(conn: Connection) -> None:
    conn.execute("CREATE TABLE tags (tag TEXT PRIMARY KEY)")


NOTES = Schema((_notes, _tags))


def test_a_schema_is_built_into_a_new_store_and_migrates_an_old_one(
    tmp_path: Path, fast_kdf: KdfParams
) -> None:
    with Store.create(tmp_path / "new", PASS, kdf=fast_kdf, schema=NOTES) as made:
        assert schema.version(made.conn) == NOTES.latest == 2
        assert set(made.db.table_names()) == {"meta", "notes", "tags"}
        assert made.migrate(NOTES) == 2  # already there: nothing to do
    with Store.create(tmp_path / "old", PASS, kdf=fast_kdf, schema=Schema((_notes,))) as old:
        old.conn.execute("INSERT INTO notes VALUES ('kept')")
        old.conn.commit()
    with Store.open(tmp_path / "old", PASS) as again:
        assert again.migrate(NOTES) == 1
        assert schema.version(again.conn) == 2 and "tags" in again.db.table_names()
        assert again.conn.execute("SELECT text FROM notes").fetchall() == [("kept",)]


def test_newer_schema_is_refused(store: Store) -> None:
    store.conn.execute(f"PRAGMA user_version = {NOTES.latest + 1}")
    store.conn.commit()
    home = store.home
    store.close()
    with Store.open(home, PASS) as again, pytest.raises(StoreError, match="newer edge_dan"):
        again.migrate(NOTES)


def test_interrupted_swap_before_commit_is_rolled_back(store: Store) -> None:
    store.db.table("notes").insert({"text": "before"})
    home = store.home
    store.close()
    (home / DATABASE_NEXT).write_bytes(os.urandom(8192))  # half-built replacement
    (home / KEYFILE_NEXT).write_bytes(b"{}")
    with Store.open(home, PASS) as again:
        assert [r["text"] for r in again.db.table("notes").rows] == ["before"]
    assert not (home / DATABASE_NEXT).exists() and not (home / KEYFILE_NEXT).exists()


def test_interrupted_swap_after_commit_is_rolled_forward(store: Store, fast_kdf: KdfParams) -> None:
    store.db.table("notes").insert({"text": "before"})
    home = store.home
    # Simulate a crash right after the database rename: the new database is in place, its key
    # file is still waiting under the temporary name.
    store.rekey()
    current = (home / KEYFILE).read_bytes()
    store.close()
    (home / KEYFILE_NEXT).write_bytes(current)
    stale = KeyFile.read(home / KEYFILE)
    (home / KEYFILE).write_bytes(
        KeyFile.wrap(stale.store_id, stale.kdf, stale.kdf.derive(PASS), os.urandom(32)).to_bytes()
    )
    with Store.open(home, PASS) as again:
        assert [r["text"] for r in again.db.table("notes").rows] == ["before"]
    assert not (home / KEYFILE_NEXT).exists()


def test_sqlite_utils_features_work_on_the_encrypted_connection(store: Store) -> None:
    table = store.db.table("docs")
    table.insert_all([{"id": i, "body": f"shared norms {i}"} for i in range(20)], pk="id")
    table.upsert({"id": 3, "body": "fair splits"}, pk="id")
    table.enable_fts(["body"])
    assert [r["id"] for r in table.search("fair")] == [3]
    table.transform(rename={"body": "text"})
    assert table.get(3)["text"] == "fair splits"
