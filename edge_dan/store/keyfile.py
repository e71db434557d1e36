"""The key file: the random database key, wrapped under a key derived from the passphrase.

The database key is 32 random bytes that SQLCipher uses as a raw key (skipping its own key
stretching). It is stored only wrapped: encrypted with XChaCha20-Poly1305 under a key derived from
the owner's passphrase with Argon2id. The whole header (format, store id, KDF parameters and salt)
is the AEAD's associated data, so altering any of it makes unwrapping fail instead of, say,
silently weakening the parameters for the next write. (An early design named SecretBox for the
wrap; this AEAD is the same cipher family and adds that header binding. docs/SECURITY.md.)

A wrong passphrase is detected here, by the AEAD tag, before SQLCipher is touched: that keeps a
wrong passphrase apart from a damaged database, which SQLCipher reports the same way.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.pwhash
import nacl.utils

from edge_dan.errors import StoreCorrupt, StoreError, UsageError, WrongPassphrase
from edge_dan.store.files import atomic_write
from edge_dan.store.jsontext import load_json

FORMAT = "edge-dan-keyfile"
VERSION = 1
DB_KEY_BYTES = 32
_SALT_BYTES = nacl.pwhash.argon2id.SALTBYTES
_NONCE_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
MAX_KEYFILE_BYTES = 16 * 1024  # a real one is about 400 bytes; read no more than this

# Unlocking should cost the owner well under a second but an attacker a lot per guess.
DEFAULT_UNLOCK_SECONDS = 0.5
MiB = 1024 * 1024
DEFAULT_MEMLIMIT = 64 * MiB  # fits phones and a 512 MB Pi Zero 2 W

# The parameters are read from key files and backup headers before anything is authenticated, so
# whoever hands over a file chooses what the KDF will cost. Anything outside these bounds is
# refused before the KDF runs:
# - memory 8 MiB to 256 MiB: 8 MiB is the floor calibration shrinks to on a slow board, 64 MiB
#   its default; 256 MiB (libsodium's "moderate") leaves half of a 512 MB Pi Zero 2 W free, where
#   the 1 GiB accepted before got the process killed.
# - passes 1 to 256, and passes x memory at most 256 x 64 MiB: calibration never goes beyond
#   either (it keeps 64 MiB and stops at 256 passes, about 25 times the half-second default on a
#   laptop), and the worst file then costs seconds here and minutes on a small board, not the
#   days 2^32 - 1 passes took.
MIN_OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_MIN
MAX_OPSLIMIT = 256
MIN_MEMLIMIT = 8 * MiB
MAX_MEMLIMIT = 256 * MiB
MAX_WORK = MAX_OPSLIMIT * DEFAULT_MEMLIMIT  # passes x bytes


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters and salt, stored beside the wrapped key.

    ``calibrate`` picks them for this machine; tests use cheap ones::

        Owner.create(home, passphrase, kdf=KdfParams.fresh(1, 8 * 1024 * 1024))
    """

    opslimit: int
    memlimit: int
    salt: bytes

    @classmethod
    def fresh(cls, opslimit: int, memlimit: int) -> KdfParams:
        return cls(opslimit, memlimit, nacl.utils.random(_SALT_BYTES))

    def with_new_salt(self) -> KdfParams:
        return KdfParams.fresh(self.opslimit, self.memlimit)

    def derive(self, passphrase: str) -> bytes:
        try:
            self.check()
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        return bytes(
            nacl.pwhash.argon2id.kdf(
                DB_KEY_BYTES,
                passphrase.encode("utf-8"),
                self.salt,
                opslimit=self.opslimit,
                memlimit=self.memlimit,
            )
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "alg": "argon2id13",
            "opslimit": self.opslimit,
            "memlimit": self.memlimit,
            "salt": _b64(self.salt),
        }

    @classmethod
    def from_json(cls, data: Any) -> KdfParams:
        if not isinstance(data, dict) or data.get("alg") != "argon2id13":
            raise ValueError("unknown key derivation")
        ops, mem, salt = data["opslimit"], data["memlimit"], _unb64(data["salt"])
        if not (_is_int(ops) and _is_int(mem)) or len(salt) != _SALT_BYTES:
            raise ValueError("bad key derivation parameters")
        params = cls(ops, mem, salt)
        params.check()
        return params

    def check(self) -> None:
        """``ValueError`` unless the cost is within the bounds above (before anything runs)."""
        if not MIN_OPSLIMIT <= self.opslimit <= MAX_OPSLIMIT:
            raise ValueError(
                f"Argon2id passes {self.opslimit} out of range "
                f"({MIN_OPSLIMIT} to {MAX_OPSLIMIT} are accepted)"
            )
        if not MIN_MEMLIMIT <= self.memlimit <= MAX_MEMLIMIT:
            raise ValueError(
                f"Argon2id memory {self.memlimit} bytes out of range "
                f"({MIN_MEMLIMIT // MiB} to {MAX_MEMLIMIT // MiB} MiB are accepted)"
            )
        if self.opslimit * self.memlimit > MAX_WORK:
            raise ValueError(
                f"Argon2id cost {self.opslimit} passes x {self.memlimit // MiB} MiB out of range "
                f"(at most {MAX_OPSLIMIT} passes x {DEFAULT_MEMLIMIT // MiB} MiB)"
            )


def calibrate(target_seconds: float = DEFAULT_UNLOCK_SECONDS) -> KdfParams:
    """Choose Argon2id parameters so one derivation takes about ``target_seconds`` here.

    Memory stays at 64 MiB (phones kill apps that balloon); the time cost grows instead. One probe
    at opslimit 2 measures this machine, the estimate is checked once, then corrected.
    """
    if not 0 < target_seconds <= 30:
        raise UsageError("the unlock time must be between 0 and 30 seconds")
    mem = DEFAULT_MEMLIMIT
    probe_ops = 2
    per_op = _time_kdf(probe_ops, mem) / probe_ops
    if per_op * 1 > target_seconds:
        # Even one pass is too slow at 64 MiB: shrink memory instead (small boards).
        mem = max(MIN_MEMLIMIT, int(mem * target_seconds / per_op))
        return KdfParams.fresh(1, mem)
    ops = max(1, round(target_seconds / per_op))
    measured = _time_kdf(ops, mem)
    ops = max(1, round(ops * target_seconds / measured))
    return KdfParams.fresh(min(ops, MAX_OPSLIMIT), mem)


def _time_kdf(ops: int, mem: int) -> float:
    start = time.perf_counter()
    nacl.pwhash.argon2id.kdf(32, b"calibration", b"\0" * _SALT_BYTES, opslimit=ops, memlimit=mem)
    return time.perf_counter() - start


@dataclass(frozen=True)
class KeyFile:
    """The parsed key file. ``wrapped`` is nonce || ciphertext || tag."""

    store_id: str
    kdf: KdfParams
    wrapped: bytes

    def _header(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "store_id": self.store_id,
            "kdf": self.kdf.to_json(),
        }

    def _aad(self) -> bytes:
        return json.dumps(self._header(), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def wrap(cls, store_id: str, kdf: KdfParams, kek: bytes, db_key: bytes) -> KeyFile:
        """Wrap ``db_key`` under ``kek`` (the Argon2id output for ``kdf``)."""
        draft = cls(store_id, kdf, b"")
        nonce = nacl.utils.random(_NONCE_BYTES)
        sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
            db_key, draft._aad(), nonce, kek
        )
        return cls(store_id, kdf, nonce + sealed)

    def unwrap(self, kek: bytes) -> bytes:
        nonce, sealed = self.wrapped[:_NONCE_BYTES], self.wrapped[_NONCE_BYTES:]
        try:
            key = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                sealed, self._aad(), nonce, kek
            )
        except nacl.exceptions.CryptoError:
            raise WrongPassphrase("wrong passphrase") from None
        return bytes(key)

    def unwrap_with(self, passphrase: str) -> tuple[bytes, bytes]:
        """Return (kek, database key); ``WrongPassphrase`` if it does not open."""
        kek = self.kdf.derive(passphrase)
        return kek, self.unwrap(kek)

    def to_bytes(self) -> bytes:
        doc = {**self._header(), "wrapped_key": _b64(self.wrapped)}
        return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_bytes(cls, raw: bytes, *, source: str) -> KeyFile:
        try:
            doc = load_json(raw)
            if doc.get("format") != FORMAT:
                raise ValueError("not an edge_dan key file")
            if doc.get("version") != VERSION:
                raise ValueError(f"key file version {doc.get('version')!r} is not supported")
            store_id = doc["store_id"]
            if not isinstance(store_id, str):
                raise ValueError("bad store id")
            wrapped = _unb64(doc["wrapped_key"])
            if len(wrapped) != _NONCE_BYTES + DB_KEY_BYTES + 16:
                raise ValueError("wrapped key has the wrong length")
            return cls(store_id, KdfParams.from_json(doc["kdf"]), wrapped)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreCorrupt(f"{source} is damaged: {exc}") from None

    @classmethod
    def read(cls, path: Path) -> KeyFile:
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_KEYFILE_BYTES + 1)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror}") from exc
        if len(raw) > MAX_KEYFILE_BYTES:
            raise StoreCorrupt(f"{path} is damaged: larger than a key file can be")
        return cls.from_bytes(raw, source=str(path))

    def write(self, path: Path) -> None:
        atomic_write(path, self.to_bytes())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("expected base64 text")
    return base64.b64decode(text, validate=True)
