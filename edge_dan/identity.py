"""Who an agent is: an Ed25519 identity key and a separate X25519 static key for sessions.

The identity key is long-lived and only signs. Sessions (Noise, see ``edge_dan.wire``) need an
X25519 key, and using one key for both signing and Diffie-Hellman invites cross-protocol trouble,
so each agent also has its own X25519 static key, bound to the identity by an Ed25519 signature
over a domain-separated message. A peer that checks this binding knows the session key belongs to
the identity.

The fingerprint people compare is a hash of the identity public key written in Crockford base32,
grouped in fours: easy to read aloud, no ambiguous characters (no I, L, O, U).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import nacl.exceptions
import nacl.public
import nacl.signing

from edge_dan.errors import EdgeDanError

STATIC_KEY_CONTEXT = b"edge-dan/v1/static-key-binding\x00"
FINGERPRINT_BYTES = 20  # 160 bits: far beyond what a second-preimage search can reach
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


class IdentityError(EdgeDanError):
    """A key or signature is malformed or does not verify."""


def fingerprint(identity_public_key: bytes, *, groups: int = 8) -> str:
    """Human-friendly fingerprint of an Ed25519 public key, ``groups`` groups of four characters.

    Eight groups carry the full 160 bits; fewer give a short form for display next to a name.
    """
    if len(identity_public_key) != 32:
        raise IdentityError("an Ed25519 public key is 32 bytes")
    digest = hashlib.blake2b(
        identity_public_key, digest_size=FINGERPRINT_BYTES, person=b"edge-dan-fpr-v1"
    ).digest()
    bits = int.from_bytes(digest, "big")
    chars = [
        _CROCKFORD[(bits >> (5 * i)) & 31] for i in reversed(range(FINGERPRINT_BYTES * 8 // 5))
    ]
    text = "".join(chars)[: 4 * max(1, min(groups, 8))]
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def static_key_message(static_public_key: bytes) -> bytes:
    """The exact bytes the identity key signs to vouch for a session static key."""
    return STATIC_KEY_CONTEXT + static_public_key


def verify_static_key(
    identity_public_key: bytes, static_public_key: bytes, signature: bytes
) -> None:
    """Raise ``IdentityError`` unless ``signature`` binds the static key to the identity."""
    if len(static_public_key) != 32 or len(signature) != 64:
        raise IdentityError("malformed static key binding")
    try:
        nacl.signing.VerifyKey(identity_public_key).verify(
            static_key_message(static_public_key), signature
        )
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, TypeError) as exc:
        raise IdentityError("the static key is not signed by this identity") from exc


@dataclass(frozen=True, repr=False)
class Identity:
    """An agent's private keys. ``repr`` never shows secret material."""

    signing_seed: bytes  # 32-byte Ed25519 seed
    static_private: bytes  # 32-byte X25519 private key
    static_signature: bytes  # identity signature over static_key_message(static public key)

    @classmethod
    def generate(cls) -> Identity:
        signing = nacl.signing.SigningKey.generate()
        return cls._bind(bytes(signing), bytes(nacl.public.PrivateKey.generate()))

    @classmethod
    def _bind(cls, signing_seed: bytes, static_private: bytes) -> Identity:
        signing = nacl.signing.SigningKey(signing_seed)
        static_public = bytes(nacl.public.PrivateKey(static_private).public_key)
        signature = signing.sign(static_key_message(static_public)).signature
        return cls(signing_seed, static_private, signature)

    @classmethod
    def from_secrets(
        cls, signing_seed: bytes, static_private: bytes, static_signature: bytes
    ) -> Identity:
        """Rebuild a stored identity, checking that its parts still belong together."""
        if len(signing_seed) != 32 or len(static_private) != 32:
            raise IdentityError("stored identity keys have the wrong length")
        identity = cls(signing_seed, static_private, static_signature)
        verify_static_key(identity.public_key, identity.static_public_key, static_signature)
        return identity

    def rotate_static_key(self) -> Identity:
        """A new session key under the same identity (for example after a suspected leak)."""
        return self._bind(self.signing_seed, bytes(nacl.public.PrivateKey.generate()))

    @property
    def public_key(self) -> bytes:
        return bytes(nacl.signing.SigningKey(self.signing_seed).verify_key)

    @property
    def static_public_key(self) -> bytes:
        return bytes(nacl.public.PrivateKey(self.static_private).public_key)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def sign(self, message: bytes) -> bytes:
        """Detached Ed25519 signature (64 bytes)."""
        return nacl.signing.SigningKey(self.signing_seed).sign(message).signature

    def __repr__(self) -> str:
        return f"Identity(fingerprint={self.fingerprint!r})"


def verify(identity_public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise ``IdentityError`` unless ``signature`` is this identity's signature on ``message``."""
    try:
        nacl.signing.VerifyKey(identity_public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, TypeError) as exc:
        raise IdentityError("signature does not verify") from exc
