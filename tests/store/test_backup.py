"""Encrypted backups: round trips, wrong passphrases, damage of every kind, safe restore."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from edge_dan.errors import BackupError, StoreBusy, StoreError, StoreExists, WrongPassphrase
from edge_dan.owner import SCHEMA, Owner
from edge_dan.owner.identity import OwnIdentity
from edge_dan.store import KdfParams, Schema, Store, export_backup, import_backup, read_backup
from edge_dan.store.backup import MAC_BYTES, MAGIC
from edge_dan.store.keyfile import KeyFile
from edge_dan.store.schema import version
from edge_dan.store.sqlcipher import Connection

PASS = "correct horse"
BACKUP_PASS = "backup words"


@pytest.fixture
def backup(store: Store, tmp_path: Path, fast_kdf: KdfParams) -> Path:
    owner = Owner(store)
    owner.identity.ensure()
    owner.profile.edit({"benevolence": 0.9}, note="before backup")
    store.db.table("notes").insert_all({"n": i, "text": f"note {i}"} for i in range(200))
    path = tmp_path / "agent.backup"
    export_backup(store, path, BACKUP_PASS, kdf=fast_kdf)
    return path


def test_restore_into_empty_home(store: Store, backup: Path, tmp_path: Path) -> None:
    original = Owner(store).identity.ensure()
    with Owner.restore(tmp_path / "restored", backup, BACKUP_PASS, kdf=store.kdf) as restored:
        assert restored.identity.ensure().fingerprint == original.fingerprint
        assert restored.profile.current().weight("benevolence") == 0.9
        # The owner's data is rebuilt from its own schema: a table it does not know is left
        # behind (a bare import_backup, without a schema, copies it: test_replace_existing_store).
        assert "notes" not in restored.store.db.table_names()
        assert restored.store.store_id == store.store_id
    # The new home is protected by the backup passphrase unless another was given.
    Store.open(tmp_path / "restored", BACKUP_PASS).close()


def test_restore_gets_a_new_database_key(store: Store, backup: Path, tmp_path: Path) -> None:
    key_in_backup = read_backup(backup, BACKUP_PASS).file_key
    home = tmp_path / "r"
    import_backup(home, backup, BACKUP_PASS, store_passphrase="mine", kdf=store.kdf).close()
    restored = KeyFile.read(home / "keyfile.json")
    assert restored.unwrap_with("mine")[1] != key_in_backup
    with pytest.raises(WrongPassphrase):
        restored.unwrap_with(BACKUP_PASS)  # an explicit store passphrase replaces the backup's


def test_replace_existing_store(store: Store, backup: Path) -> None:
    Owner(store).profile.edit({"benevolence": 0.1}, note="after backup")
    store.db.table("notes").insert({"n": 999, "text": "later"})
    home = store.home
    store.close()
    with pytest.raises(BackupError, match="passphrase is needed"):
        import_backup(home, backup, BACKUP_PASS)
    with import_backup(home, backup, BACKUP_PASS, store_passphrase=PASS) as restored:
        assert Owner(restored).profile.current().weight("benevolence") == 0.9
        assert restored.db.table("notes").count == 200
    Store.open(home, PASS).close()  # the store keeps its own passphrase


def test_replace_needs_the_store_to_itself(
    store: Store, backup: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import edge_dan.store.store as store_module

    monkeypatch.setattr(store_module, "LOCK_TIMEOUT", 0.2)
    with pytest.raises(StoreBusy):
        import_backup(store.home, backup, BACKUP_PASS, store_passphrase=PASS)
    assert store.db.table("notes").count == 200  # untouched, still usable


def test_wrong_backup_passphrase(store: Store, backup: Path, tmp_path: Path) -> None:
    with pytest.raises(WrongPassphrase, match="backup"):
        import_backup(tmp_path / "r", backup, "not it")
    assert not (tmp_path / "r").exists()


def _damaged(backup: Path, change: bytes) -> Path:
    out = backup.with_name("damaged")
    out.write_bytes(change)
    return out


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated-half"),
        pytest.param(lambda b: b[:-1], id="truncated-one-byte"),
        pytest.param(lambda b: b + b"\0", id="extended"),
        pytest.param(
            lambda b: (
                b[: -MAC_BYTES - 5000] + bytes([b[-MAC_BYTES - 5000] ^ 1]) + b[-MAC_BYTES - 4999 :]
            ),
            id="body-bit",
        ),
        pytest.param(lambda b: b[:-1] + bytes([b[-1] ^ 0x80]), id="mac-bit"),
        pytest.param(lambda b: b"X" + b[1:], id="magic"),
        pytest.param(lambda b: b[:16] + b"\xff\xff\xff\xff" + b[20:], id="header-length"),
        pytest.param(lambda b: b[:30] + b"{" + b[31:], id="header-json"),
        pytest.param(lambda b: b"", id="empty"),
    ],
)
def test_damaged_backups_are_refused(
    store: Store, backup: Path, tmp_path: Path, mutate: object
) -> None:
    assert callable(mutate)
    bad = _damaged(backup, mutate(backup.read_bytes()))
    with pytest.raises((BackupError, WrongPassphrase)):
        read_backup(bad, BACKUP_PASS)
    # A failed restore leaves the current store exactly as it was.
    before = hashlib.sha256(store.path.read_bytes()).hexdigest()
    with pytest.raises((BackupError, WrongPassphrase, StoreBusy)):
        import_backup(tmp_path / "r", bad, BACKUP_PASS)
    assert hashlib.sha256(store.path.read_bytes()).hexdigest() == before
    assert not (tmp_path / "r" / "keyfile.json").exists()


def test_spliced_body_from_another_backup_is_refused(
    store: Store, backup: Path, tmp_path: Path, fast_kdf: KdfParams
) -> None:
    store.db.table("notes").insert({"n": 1000, "text": "newer"})
    other = tmp_path / "other.backup"
    export_backup(store, other, BACKUP_PASS, kdf=fast_kdf)
    a, b = backup.read_bytes(), other.read_bytes()
    hlen_a = int.from_bytes(a[16:20], "big")
    hlen_b = int.from_bytes(b[16:20], "big")
    spliced = a[: 20 + hlen_a] + b[20 + hlen_b :]
    with pytest.raises(BackupError):
        read_backup(_damaged(backup, spliced), BACKUP_PASS)


def test_backup_file_is_private_and_not_plaintext(backup: Path) -> None:
    assert backup.stat().st_mode & 0o777 == 0o600
    data = backup.read_bytes()
    assert data.startswith(MAGIC)
    assert b"benevolence" not in data and b"note 17" not in data and b"before backup" not in data


def test_export_refuses_empty_passphrase(store: Store, tmp_path: Path) -> None:
    with pytest.raises(BackupError):
        export_backup(store, tmp_path / "x", "")


def test_create_over_existing_is_refused_even_via_restore(store: Store, backup: Path) -> None:
    with pytest.raises(StoreExists):
        Store.create(store.home, "x")


def test_a_backup_is_brought_to_the_schema_it_is_restored_with(
    tmp_path: Path, fast_kdf: KdfParams
) -> None:
    older = Schema(SCHEMA.migrations[:2])  # before feedback, contests, agreements ...
    with Store.create(tmp_path / "old", PASS, kdf=fast_kdf, schema=older) as old:
        me = OwnIdentity(old).ensure()  # its table is there from the first version on
        export_backup(old, tmp_path / "old.backup", BACKUP_PASS, kdf=fast_kdf)
    with import_backup(
        tmp_path / "new", tmp_path / "old.backup", BACKUP_PASS, kdf=fast_kdf, schema=SCHEMA
    ) as restored:
        assert version(restored.conn) == SCHEMA.latest and "contests" in restored.db.table_names()
        assert Owner(restored).identity.get() == me


def test_a_backup_from_a_newer_schema_replaces_nothing(
    owner: Owner, tmp_path: Path, fast_kdf: KdfParams
) -> None:
    def later(conn: Connection) -> None:
        conn.execute("CREATE TABLE later (x)")

    newer = Schema((*SCHEMA.migrations, later))
    with Store.create(tmp_path / "newer", PASS, kdf=fast_kdf, schema=newer) as made:
        export_backup(made, tmp_path / "newer.backup", BACKUP_PASS, kdf=fast_kdf)
    owner.profile.edit({"power": 0.2}, note="mine")
    home = owner.home
    owner.close()
    with pytest.raises(StoreError, match="newer edge_dan"):
        Owner.restore(home, tmp_path / "newer.backup", BACKUP_PASS, store_passphrase=PASS)
    with Owner.open(home, PASS) as again:  # untouched
        assert again.profile.current().weight("power") == 0.2
