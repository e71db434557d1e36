"""Encrypted backups: one file that restores the whole store on this or another device.

Layout (integers big-endian)::

    magic      16 bytes  b"EDGE-DAN-BACKUP\\n"
    hlen        4 bytes  length of the header
    header   hlen bytes  JSON: format version, store id, schema version, creation time, and the
                         file key wrapped exactly like the store key (see ``keyfile``)
    body                 the store's database encrypted under the file key: a SQLCipher file,
                         or a sealed snapshot (``sealed``), as the store's engine writes it
    mac        32 bytes  keyed BLAKE2b over everything before it

The file key is random per backup and wrapped under an Argon2id key from the backup passphrase. The
body is encrypted page by page by SQLCipher; the trailing MAC adds what page MACs cannot see:
truncation, reordering, or a body taken from another backup. Nothing is written in plaintext at any
point: ``sqlcipher_export`` writes the body straight into an encrypted file.

A backup is someone else's file until its MAC verifies, and the MAC needs the passphrase's
Argon2id key first. So reading one is bounded at every step: only a regular file of at most
``MAX_BACKUP_BYTES``; the magic and a header of at most ``MAX_HEADER`` bytes are read and checked
before anything else (JSON nesting included), the KDF parameters in it are bounded
(``keyfile.KdfParams.check``), and the body is streamed through the MAC in chunks, never held in
memory.

Even a backup that verifies was made by whoever knew its passphrase. Restored with a ``Schema``
(the owner's data always is), the database is not taken as it is: a fresh one is made from the
schema's own migrations and the backup's rows are copied into it table by table, so its
constraints apply to every row, and the schema's ``check`` then reads every row the way the API
does. Nothing else in the backup (triggers, views, extra tables or columns) survives.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from edge_dan.errors import BackupError, StoreCorrupt, StoreError, WrongPassphrase
from edge_dan.store.engines import Engine, engine_named, engine_of_file, translated
from edge_dan.store.files import atomic_write, create_private, disk_error
from edge_dan.store.jsontext import load_json
from edge_dan.store.keyfile import DEFAULT_UNLOCK_SECONDS, KdfParams, KeyFile, calibrate
from edge_dan.store.rebuild import rebuild
from edge_dan.store.schema import Schema, version
from edge_dan.store.store import Store, now_iso
from edge_dan.store.swap import Builder, remove_database, scratch_path

MAGIC = b"EDGE-DAN-BACKUP\n"
FORMAT_VERSION = 1
MAC_BYTES = 32
MAX_HEADER = 64 * 1024
# An owner's store is profile, answers, peers and agreements: megabytes after years of use. A
# gigabyte leaves room for any real one and keeps a hostile file from filling the disk with
# scratch copies.
MAX_BACKUP_BYTES = 1024 * 1024 * 1024
_PREFIX = len(MAGIC) + 4
_CHUNK = 1024 * 1024


@dataclass(frozen=True, repr=False)
class Backup:
    """A verified backup file: what its header says, and the file key its passphrase opened."""

    path: Path
    store_id: str
    schema: int
    created_at: str
    file_key: bytes
    body_offset: int  # where the encrypted database starts in the file
    body_length: int


@dataclass(frozen=True)
class _Head:
    header: dict[str, Any]
    wrapped: KeyFile
    body_offset: int
    body_length: int


def _mac_state(file_key: bytes) -> Any:
    mac_key = hashlib.blake2b(file_key, digest_size=32, person=b"edgedan-bak-mac").digest()
    return hashlib.blake2b(key=mac_key, digest_size=MAC_BYTES)


def _mac(file_key: bytes, data: bytes) -> bytes:
    state = _mac_state(file_key)
    state.update(data)
    return bytes(state.digest())


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


@contextmanager
def _opened(path: Path) -> Iterator[IO[bytes]]:
    """``path`` open for reading, if it is a regular file: a device (``/dev/zero``) or a pipe
    would never end, and O_NONBLOCK keeps a FIFO from blocking the open itself."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from exc
    handle = os.fdopen(fd, "rb")
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BackupError(f"{path} is not an edge_dan backup (not a regular file)")
        yield handle
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from exc
    finally:
        handle.close()


def _read_head(handle: IO[bytes], path: Path) -> _Head:
    """Check the magic, the size and the header, reading nothing past the header."""
    if handle.read(len(MAGIC)) != MAGIC:
        raise BackupError(f"{path} is not an edge_dan backup")
    size = os.fstat(handle.fileno()).st_size
    if size > MAX_BACKUP_BYTES:
        raise BackupError(
            f"{path} is {size} bytes; a backup has at most {MAX_BACKUP_BYTES // 2**20} MiB"
        )
    try:
        hlen = int.from_bytes(handle.read(4), "big")
        if not 0 < hlen <= MAX_HEADER or _PREFIX + hlen + MAC_BYTES > size:
            raise ValueError("header length out of range")
        raw = handle.read(hlen)
        if len(raw) != hlen:
            raise ValueError("truncated header")
        header = load_json(raw)
        if not isinstance(header, dict):
            raise ValueError("the header is not an object")
        if header.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format version {header.get('format_version')!r} is not supported")
        wrapped = KeyFile.from_bytes(json.dumps(header["key"]).encode(), source=str(path))
        if wrapped.store_id != header["store_id"] or not isinstance(header["schema"], int):
            raise ValueError("inconsistent header")
    except (ValueError, KeyError, TypeError, AttributeError, StoreCorrupt) as exc:
        raise BackupError(f"{path} is damaged: {exc}") from None
    return _Head(header, wrapped, _PREFIX + hlen, size - _PREFIX - hlen - MAC_BYTES)


def _stream_body(
    handle: IO[bytes], path: Path, file_key: bytes, head: _Head, sink: IO[bytes] | None
) -> None:
    """Feed the whole file through the MAC, copying the body to ``sink``; ``BackupError`` unless
    the MAC at the end matches."""
    mac = _mac_state(file_key)
    handle.seek(0)
    mac.update(handle.read(head.body_offset))
    remaining = head.body_length
    while remaining:
        chunk = handle.read(min(_CHUNK, remaining))
        if not chunk:
            break
        mac.update(chunk)
        if sink is not None:
            sink.write(chunk)
        remaining -= len(chunk)
    tag = handle.read(MAC_BYTES)
    if remaining or not hmac.compare_digest(mac.digest(), tag):
        raise BackupError(f"{path} is damaged or truncated (its checksum does not match)")


def check_header(path: Path) -> None:
    """``BackupError`` unless ``path`` looks like a backup (magic, size, header, KDF bounds);
    cheap, no passphrase: lets a command refuse a wrong file before asking for anything."""
    with _opened(path) as handle:
        _read_head(handle, path)


def read_backup(path: Path, passphrase: str) -> Backup:
    """Check a backup completely and return what it holds; never touches any store."""
    with _opened(path) as handle:
        head = _read_head(handle, path)
        try:
            file_key = head.wrapped.unwrap_with(passphrase)[1]
        except WrongPassphrase:
            raise WrongPassphrase(f"wrong passphrase for the backup {path}") from None
        _stream_body(handle, path, file_key, head, None)
    return Backup(
        path,
        head.wrapped.store_id,
        head.header["schema"],
        str(head.header.get("created_at", "")),
        file_key,
        head.body_offset,
        head.body_length,
    )


def _unpack(backup: Backup, scratch: Path) -> None:
    """The backup's database into ``scratch`` (0600, new), verified again on the way: the file
    may have changed since ``read_backup``, and only what is copied here counts."""
    with _opened(backup.path) as handle:
        head = _read_head(handle, backup.path)
        if (head.body_offset, head.body_length) != (backup.body_offset, backup.body_length):
            raise BackupError(f"{backup.path} changed while it was being restored")
        try:
            sink = os.fdopen(create_private(scratch), "wb")
        except OSError as exc:
            raise disk_error(scratch, exc) from exc
        try:
            with sink:
                _stream_body(handle, backup.path, backup.file_key, head, sink)
                sink.flush()
                os.fsync(sink.fileno())
        except OSError as exc:
            raise disk_error(scratch, exc) from exc


def _restorer(backup: Backup, scratch: Path, schema: Schema | None, engine: Engine) -> Builder:
    """A builder that makes the store's new database (under its new key, on ``engine``) from
    the backup's."""
    source = backup.path

    def build(target: Path, key: bytes) -> None:
        try:
            _unpack(backup, scratch)
            _check_same_engine(scratch, engine, source)
            if schema is not None:
                rebuild(engine, scratch, backup.file_key, target, key, schema, source=source)
                _check_store_id(engine, target, key, backup)
                return
            conn = engine.connect(scratch, backup.file_key)
            try:
                with translated(source):
                    problems = engine.integrity_problems(conn)
                    if problems:
                        raise BackupError(f"{source} holds a damaged database ({problems[0]})")
                engine.export_database(conn, target, key)
            finally:
                conn.close()
            _check_store_id(engine, target, key, backup)
        finally:
            remove_database(scratch)

    return build


def _check_same_engine(scratch: Path, engine: Engine, source: Path) -> None:
    try:
        made_by = engine_of_file(scratch).name
    except StoreCorrupt as exc:
        raise BackupError(f"{source} holds a database this edge_dan cannot read ({exc})") from None
    if made_by != engine.name:
        raise BackupError(
            f"{source} was made by a store on the {made_by} backend and this store uses "
            f"{engine.name}; restore it where {made_by} is the backend"
        )


def _check_store_id(engine: Engine, target: Path, key: bytes, backup: Backup) -> None:
    conn = engine.connect(target, key)
    try:
        with translated(target):
            row = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
    except StoreError:
        row = None
    finally:
        conn.close()
    if row is None or row[0] != backup.store_id:
        raise BackupError(f"{backup.path}: header and database disagree on the store id")


def import_backup(
    home: Path,
    path: Path,
    backup_passphrase: str,
    *,
    store_passphrase: str | None = None,
    kdf: KdfParams | None = None,
    unlock_seconds: float = DEFAULT_UNLOCK_SECONDS,
    schema: Schema | None = None,
    backend: str | None = None,
) -> Store:
    """Restore a backup into ``home`` and return the opened store.

    With no store in ``home``, a new one is created, protected by ``store_passphrase`` (or the
    backup passphrase when none is given). With a store there, ``store_passphrase`` must open it;
    the restore replaces its contents and keeps its passphrase. Either way the restored database
    gets a fresh key, and the current store stays untouched unless the backup verifies completely.

    With ``schema`` (``Owner.restore`` always gives the owner's), the database is rebuilt from
    that schema and only the rows of its tables are kept, each one checked (see the module's
    documentation); a backup from a newer schema is refused before anything is replaced. Without
    one, the engine knows no tables and copies the backup's database as it is: use that only for
    backups you made yourself.
    """
    backup = read_backup(path, backup_passphrase)
    scratch = scratch_path(home, "import")
    if not Store.exists(home):
        engine = engine_named(backend)  # ``backend`` as for ``Store.create``
        return Store.create(
            home,
            store_passphrase or backup_passphrase,
            kdf=kdf,
            unlock_seconds=unlock_seconds,
            builder=_restorer(backup, scratch, schema, engine),
            store_id=backup.store_id,
            backend=engine.name,
        )
    if store_passphrase is None:
        raise BackupError(f"{home} already holds a store: its passphrase is needed to replace it")
    store = Store.open(home, store_passphrase, check=False)
    try:
        build = _restorer(backup, scratch, schema, engine_named(store.backend))
        store.replace_database(build, store_id=backup.store_id)
    except BaseException:
        store.close()
        raise
    return store
