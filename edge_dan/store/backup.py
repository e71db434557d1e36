"""Encrypted backups: one file that restores the whole store on this or another device.

Layout (integers big-endian)::

    magic      16 bytes  b"EDGE-DAN-BACKUP\\n"
    hlen        4 bytes  length of the header
    header   hlen bytes  JSON: format version, store id, schema version, creation time, and the
                         file key wrapped exactly like the store key (see ``keyfile``)
    body                 a SQLCipher database encrypted under the file key
    mac        32 bytes  keyed BLAKE2b over everything before it

The file key is random per backup and wrapped under an Argon2id key from the backup passphrase. The
body is encrypted page by page by SQLCipher; the trailing MAC adds what page MACs cannot see:
truncation, reordering, or a body taken from another backup. Nothing is written in plaintext at any
point: ``sqlcipher_export`` writes the body straight into an encrypted file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from edge_dan.errors import BackupError, StoreCorrupt, WrongPassphrase
from edge_dan.store.files import atomic_write, disk_error, write_private
from edge_dan.store.keyfile import DEFAULT_UNLOCK_SECONDS, KdfParams, KeyFile, calibrate
from edge_dan.store.schema import Schema, version
from edge_dan.store.sqlcipher import connect, export_database, integrity_problems, translated
from edge_dan.store.store import Store, now_iso
from edge_dan.store.swap import Builder, remove_database, scratch_path

MAGIC = b"EDGE-DAN-BACKUP\n"
FORMAT_VERSION = 1
MAC_BYTES = 32
MAX_HEADER = 64 * 1024
_PREFIX = len(MAGIC) + 4


@dataclass(frozen=True, repr=False)
class Backup:
    """A verified, decrypted-key view of a backup file."""

    store_id: str
    schema: int
    created_at: str
    file_key: bytes
    body: bytes


def _mac(file_key: bytes, data: bytes) -> bytes:
    mac_key = hashlib.blake2b(file_key, digest_size=32, person=b"edgedan-bak-mac").digest()
    return hashlib.blake2b(data, key=mac_key, digest_size=MAC_BYTES).digest()


def export_backup(
    store: Store,
    path: Path,
    passphrase: str,
    *,
    kdf: KdfParams | None = None,
    unlock_seconds: float = DEFAULT_UNLOCK_SECONDS,
) -> None:
    """Write an encrypted backup of ``store`` to ``path`` (replaced atomically, mode 0600)."""
    if not passphrase:
        raise BackupError("the backup passphrase must not be empty")
    kdf = kdf.with_new_salt() if kdf else calibrate(unlock_seconds)
    file_key = secrets.token_bytes(32)
    scratch = scratch_path(store.home, "backup")
    try:
        store.export_to(scratch, file_key)
        body = scratch.read_bytes()
    except OSError as exc:
        raise disk_error(scratch, exc) from exc
    finally:
        remove_database(scratch)
    wrapped = KeyFile.wrap(store.store_id, kdf, kdf.derive(passphrase), file_key)
    header = {
        "format_version": FORMAT_VERSION,
        "store_id": store.store_id,
        "schema": version(store.conn),
        "created_at": now_iso(),
        "key": json.loads(wrapped.to_bytes()),
    }
    head = json.dumps(header, sort_keys=True).encode()
    data = MAGIC + len(head).to_bytes(4, "big") + head + body
    atomic_write(path, data + _mac(file_key, data))


def read_backup(path: Path, passphrase: str) -> Backup:
    """Check a backup completely and return its contents; never touches any store."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from exc
    if not data.startswith(MAGIC):
        raise BackupError(f"{path} is not an edge_dan backup")
    try:
        hlen = int.from_bytes(data[len(MAGIC) : _PREFIX], "big")
        if not 0 < hlen <= MAX_HEADER or _PREFIX + hlen + MAC_BYTES > len(data):
            raise ValueError("header length out of range")
        header = json.loads(data[_PREFIX : _PREFIX + hlen])
        if header.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format version {header.get('format_version')!r} is not supported")
        wrapped = KeyFile.from_bytes(json.dumps(header["key"]).encode(), source=str(path))
        store_id, schema_version = header["store_id"], header["schema"]
        if wrapped.store_id != store_id or not isinstance(schema_version, int):
            raise ValueError("inconsistent header")
    except (ValueError, KeyError, TypeError, AttributeError, StoreCorrupt) as exc:
        raise BackupError(f"{path} is damaged: {exc}") from None
    try:
        file_key = wrapped.unwrap_with(passphrase)[1]
    except WrongPassphrase:
        raise WrongPassphrase(f"wrong passphrase for the backup {path}") from None
    if not hmac.compare_digest(_mac(file_key, data[:-MAC_BYTES]), data[-MAC_BYTES:]):
        raise BackupError(f"{path} is damaged or truncated (its checksum does not match)")
    return Backup(
        store_id,
        schema_version,
        str(header.get("created_at", "")),
        file_key,
        data[_PREFIX + hlen : -MAC_BYTES],
    )


def _restorer(backup: Backup, source: Path, scratch: Path, schema: Schema | None) -> Builder:
    """A builder that re-encrypts the backup's database under the store's new key (brought to
    ``schema`` first, when given)."""

    def build(target: Path, key: bytes) -> None:
        write_private(scratch, backup.body)
        try:
            conn = connect(scratch, backup.file_key)
            try:
                with translated(source):
                    problems = integrity_problems(conn)
                    if problems:
                        raise BackupError(f"{source} holds a damaged database ({problems[0]})")
                    if schema is not None:
                        schema.migrate(conn, source=str(source))
                    row = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
                if row is None or row[0] != backup.store_id:
                    raise BackupError(f"{source}: header and database disagree on the store id")
                export_database(conn, target, key)
            finally:
                conn.close()
        finally:
            remove_database(scratch)

    return build


def import_backup(
    home: Path,
    path: Path,
    backup_passphrase: str,
    *,
    store_passphrase: str | None = None,
    kdf: KdfParams | None = None,
    unlock_seconds: float = DEFAULT_UNLOCK_SECONDS,
    schema: Schema | None = None,
) -> Store:
    """Restore a backup into ``home`` and return the opened store.

    With no store in ``home``, a new one is created, protected by ``store_passphrase`` (or the
    backup passphrase when none is given). With a store there, ``store_passphrase`` must open it;
    the restore replaces its contents and keeps its passphrase. Either way the restored database
    gets a fresh key, and the current store stays untouched unless the backup verifies completely
    (and, with ``schema``, unless it can be brought to that schema: a backup from a newer one is
    refused before anything is replaced).
    """
    backup = read_backup(path, backup_passphrase)
    build = _restorer(backup, path, scratch_path(home, "import"), schema)
    if not Store.exists(home):
        return Store.create(
            home,
            store_passphrase or backup_passphrase,
            kdf=kdf,
            unlock_seconds=unlock_seconds,
            builder=build,
            store_id=backup.store_id,
        )
    if store_passphrase is None:
        raise BackupError(f"{home} already holds a store: its passphrase is needed to replace it")
    store = Store.open(home, store_passphrase, check=False)
    try:
        store.replace_database(build, store_id=backup.store_id)
    except BaseException:
        store.close()
        raise
    return store
