"""The store under pressure: a full disk, and migrations that fail half-way."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge_dan.errors import StoreError
from edge_dan.owner import SCHEMA, Owner
from edge_dan.store import KdfParams, Schema, Store, export_backup, schema
from edge_dan.store.sqlcipher import Connection

PASS = "correct horse"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a real file system that really fills up (needs root, as in CI)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_loses_nothing_acknowledged(small_disk: Path, fast_kdf: KdfParams) -> None:
    home = small_disk / "home"
    acknowledged = 0
    with Store.create(home, PASS, kdf=fast_kdf) as store:
        store.conn.execute("CREATE TABLE blobs (n INTEGER PRIMARY KEY, data BLOB)")
        store.conn.commit()
        failure: StoreError | None = None
        for n in range(10_000):
            try:
                with store.transaction() as conn:
                    conn.execute("INSERT INTO blobs VALUES (?, ?)", (n, os.urandom(2000)))
            except StoreError as exc:
                failure = exc
                break
            acknowledged = n + 1
        assert failure is not None
        assert "full" in str(failure) or "disk" in str(failure)
        assert acknowledged > 10
        # A backup that cannot fit fails cleanly and leaves no partial file behind.
        with pytest.raises(StoreError):
            export_backup(store, small_disk / "backup", "b", kdf=fast_kdf)
        assert not (small_disk / "backup").exists()
    for leftover in small_disk.rglob("*"):
        assert leftover.name in {
            "home",
            "keyfile.json",
            "store.db",
            "lock",
            "swap.lock",
            "commit.lock",  # the stdlib engine's (sealed_sqlite)
            "store.db-wal",
            "store.db-shm",
        }, leftover
    with Store.open(home, PASS) as again:
        (count,) = again.conn.execute("SELECT count(*) FROM blobs").fetchone()
        assert count == acknowledged


def _with_migration(extra: Callable[[Connection], None]) -> Schema:
    """The owner's schema and one more migration on top."""
    return Schema((*SCHEMA.migrations, extra))


def test_failed_migration_rolls_back_and_can_be_retried(owner: Owner) -> None:
    store = owner.store
    home, version = store.home, schema.version(store.conn)
    store.conn.execute("INSERT INTO meta VALUES ('marker', 'kept')")
    store.conn.commit()
    store.close()

    def broken(conn: Connection) -> None:
        conn.execute("CREATE TABLE peers (id INTEGER PRIMARY KEY)")
        raise RuntimeError("power cut in the middle of a migration")

    with Store.open(home, PASS) as again, pytest.raises(RuntimeError):
        again.migrate(_with_migration(broken))
    with Owner.open(home, PASS) as reopened:  # still the old version, nothing half-applied
        assert schema.version(reopened.store.conn) == version
        assert "peers" not in reopened.store.db.table_names()

    def good(conn: Connection) -> None:
        conn.execute("CREATE TABLE peers (id INTEGER PRIMARY KEY)")

    with Store.open(home, PASS) as again:
        assert again.migrate(_with_migration(good)) == version
        assert schema.version(again.conn) == version + 1
        assert "peers" in again.db.table_names()
        assert again.get_meta("marker") == "kept"
