"""The Noise primitives edge_dan supports: 25519, ChaChaPoly, BLAKE2b, SHA256 (spec sections 4, 12).

Thin wrappers over libsodium (through PyNaCl) and hashlib. Their only job beyond calling the
primitive is turning every library failure into a ``ProtocolError`` subclass, because the inputs
(public keys, ciphertexts) come from the peer.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nacl.bindings
import nacl.exceptions

from edge_dan.wire.errors import DecryptError, HandshakeError

DHLEN = 32
KEYLEN = 32
TAGLEN = 16
MAX_NONCE = 2**64 - 1
_ZERO_DH = bytes(DHLEN)


@dataclass(frozen=True)
class KeyPair:
    """A Curve25519 key pair; ``repr`` leaves the private key out so logs never carry it."""

    private: bytes = field(repr=False)
    public: bytes

    @classmethod
    def generate(cls) -> KeyPair:
        return cls.from_private(os.urandom(DHLEN))

    @classmethod
    def from_private(cls, private: bytes) -> KeyPair:
        if len(private) != DHLEN:
            raise HandshakeError(f"a 25519 private key is {DHLEN} bytes, got {len(private)}")
        return cls(private, nacl.bindings.crypto_scalarmult_base(private))


def dh(private: bytes, public: bytes) -> bytes:
    """X25519 with the all-zero check: a low-order public key would make the secret predictable."""
    try:
        shared = nacl.bindings.crypto_scalarmult(private, public)
    except nacl.exceptions.CryptoError:
        # libsodium itself refuses an all-zero result; the message is the same either way.
        shared = _ZERO_DH
    if hmac.compare_digest(shared, _ZERO_DH):
        raise HandshakeError("the peer sent a low-order 25519 public key (DH output is all zeros)")
    return bytes(shared)


def _nonce(n: int) -> bytes:
    # ChaChaPoly in Noise: 32 zero bits, then the 64-bit counter little-endian (spec 12.3).
    return b"\x00\x00\x00\x00" + n.to_bytes(8, "little")


def encrypt(key: bytes, n: int, ad: bytes, plaintext: bytes) -> bytes:
    return bytes(
        nacl.bindings.crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, ad, _nonce(n), key)
    )


def decrypt(key: bytes, n: int, ad: bytes, ciphertext: bytes) -> bytes:
    try:
        return bytes(
            nacl.bindings.crypto_aead_chacha20poly1305_ietf_decrypt(ciphertext, ad, _nonce(n), key)
        )
    except nacl.exceptions.CryptoError:
        raise DecryptError(
            "ciphertext failed authentication (tampered, truncated, wrong key or out of order)"
        ) from None


def rekey(key: bytes) -> bytes:
    """REKEY(k) of spec 4.2: encrypt 32 zero bytes under the reserved nonce 2^64-1."""
    return encrypt(key, MAX_NONCE, b"", bytes(KEYLEN))[:KEYLEN]


@dataclass(frozen=True)
class Hash:
    """A Noise hash function with the HMAC and HKDF built on it (spec 4.3)."""

    name: str
    hashlen: int
    constructor: Callable[..., Any] = field(repr=False)

    def digest(self, data: bytes) -> bytes:
        return bytes(self.constructor(data).digest())

    def hmac(self, key: bytes, data: bytes) -> bytes:
        # hmac takes the block size from the hash (BLAKE2b 128, SHA256 64), as RFC 2104 asks.
        return hmac.digest(key, data, self.constructor)

    def hkdf(self, chaining_key: bytes, input_key_material: bytes, outputs: int) -> list[bytes]:
        """HKDF as Noise defines it: 2 or 3 outputs of ``hashlen`` bytes each."""
        temp_key = self.hmac(chaining_key, input_key_material)
        result: list[bytes] = []
        previous = b""
        for index in range(1, outputs + 1):
            previous = self.hmac(temp_key, previous + bytes([index]))
            result.append(previous)
        return result


HASHES: dict[str, Hash] = {
    "BLAKE2b": Hash("BLAKE2b", 64, hashlib.blake2b),
    "SHA256": Hash("SHA256", 32, hashlib.sha256),
}
