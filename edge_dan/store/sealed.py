"""One sealed snapshot: a whole SQLite database image, padded and encrypted as one AEAD message.

Layout (integers big-endian)::

    magic        16 bytes  b"EDGE-DAN-SEALED\\n"
    version       2 bytes  format version (1)
    generation    8 bytes  counts the commits of this database file, from 1
    nonce        24 bytes  random, fresh for every snapshot
    sealed        rest     XChaCha20-Poly1305 of (image length, 8 bytes || image || zero padding)

The first 26 bytes are the associated data, so a generation or version edited in place fails the
tag like any flipped bit of the body. The key is the store's random database key (one per store,
renewed by every rekey and restore), so a snapshot of another store does not open either. The
image is padded to a size bucket (``padded_size``) so the file's size says little more than the
order of magnitude of the store.
"""

from __future__ import annotations

import struct

import nacl.bindings
import nacl.exceptions
import nacl.utils

from edge_dan.errors import StoreCorrupt
from edge_dan.store.engines import SEALED_MAGIC

VERSION = 1
_HEADER = struct.Struct(">16sHQ")
HEADER_BYTES = _HEADER.size
_NONCE_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
_LENGTH = struct.Struct(">Q")
MIN_BUCKET = 64 * 1024


def padded_size(length: int) -> int:
    """At least 64 KiB, then rounded up to an eighth of the power of two below it (at most
    12.5 % more): a store's file size moves in about eight steps per doubling."""
    length = max(length, MIN_BUCKET)
    step = 1 << (length.bit_length() - 4)
    return -(-length // step) * step


def seal(image: bytes, key: bytes, generation: int) -> bytes:
    header = _HEADER.pack(SEALED_MAGIC, VERSION, generation)
    body = _LENGTH.pack(len(image)) + image
    body += bytes(padded_size(len(body)) - len(body))
    nonce = nacl.utils.random(_NONCE_BYTES)
    return (
        header
        + nonce
        + nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(body, header, nonce, key)
    )


def generation_of(head: bytes, source: str) -> int:
    """The generation a file's first ``HEADER_BYTES`` bytes claim (not yet authenticated)."""
    if len(head) < HEADER_BYTES:
        raise StoreCorrupt(f"{source} is truncated (a sealed snapshot's header is incomplete)")
    magic, version, generation = _HEADER.unpack(head[:HEADER_BYTES])
    if magic != SEALED_MAGIC:
        raise StoreCorrupt(f"{source} is not a sealed snapshot (bad magic)")
    if version != VERSION:
        raise StoreCorrupt(f"{source} is sealed snapshot version {version}, not {VERSION}")
    return int(generation)


def unseal(data: bytes, key: bytes, source: str) -> tuple[int, bytes]:
    """(generation, image); ``StoreCorrupt`` if anything was changed, cut or swapped."""
    generation = generation_of(data, source)
    nonce = data[HEADER_BYTES : HEADER_BYTES + _NONCE_BYTES]
    try:
        body = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            data[HEADER_BYTES + _NONCE_BYTES :], data[:HEADER_BYTES], nonce, key
        )
    except nacl.exceptions.CryptoError:
        raise StoreCorrupt(
            f"{source} failed its integrity check (the sealed snapshot does not authenticate: "
            "damaged, truncated or not this store's)"
        ) from None
    (length,) = _LENGTH.unpack(body[: _LENGTH.size])
    if length > len(body) - _LENGTH.size:
        raise StoreCorrupt(f"{source} failed its integrity check (bad image length)")
    return generation, bytes(body[_LENGTH.size : _LENGTH.size + length])
