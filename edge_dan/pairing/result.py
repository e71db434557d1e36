"""What a successful pairing leaves behind, and the key derivations shared by every method."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

PairingMethod = Literal["numeric", "qr", "code"]
METHODS: tuple[PairingMethod, ...] = ("numeric", "qr", "code")
ADVERT_KEY_LEN = 32


def kdf(label: bytes, *parts: bytes, key: bytes = b"", size: int = 32) -> bytes:
    """BLAKE2b of length-prefixed ``parts`` under a personalisation ``label`` (at most 16 bytes).

    Every derived value in pairing uses its own label, so no output of one derivation can stand in
    for another; length prefixes keep the concatenation unambiguous.
    """
    digest = hashlib.blake2b(key=key, digest_size=size, person=label)
    for part in parts:
        digest.update(len(part).to_bytes(4, "big"))
        digest.update(part)
    return digest.digest()


@dataclass(frozen=True, repr=False)
class PairingResult:
    """Both sides hold equal results after a successful pairing (apart from ``peer_static``).

    ``advert_key`` is the per-pair secret from which discovery (#5) derives rotating advertisement
    tokens. ``handshake_hash`` is the Noise handshake hash of the pairing session.
    """

    method: PairingMethod
    peer_static: bytes
    advert_key: bytes
    handshake_hash: bytes

    def __repr__(self) -> str:  # never show the key
        return f"PairingResult(method={self.method!r}, peer_static={self.peer_static.hex()[:16]}..)"
