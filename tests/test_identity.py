"""Identity keys, the static-key binding and fingerprints."""

from __future__ import annotations

import re

import nacl.signing
import pytest

from edge_dan.identity import (
    Identity,
    IdentityError,
    fingerprint,
    static_key_message,
    verify,
    verify_static_key,
)


def test_static_key_is_bound_to_identity() -> None:
    me = Identity.generate()
    verify_static_key(me.public_key, me.static_public_key, me.static_signature)
    other = Identity.generate()
    with pytest.raises(IdentityError):
        verify_static_key(other.public_key, me.static_public_key, me.static_signature)
    with pytest.raises(IdentityError):
        verify_static_key(me.public_key, other.static_public_key, me.static_signature)


def test_binding_is_domain_separated() -> None:
    """A signature the identity made over the bare static key must not count as a binding."""
    me = Identity.generate()
    bare = me.sign(me.static_public_key)
    with pytest.raises(IdentityError):
        verify_static_key(me.public_key, me.static_public_key, bare)
    assert static_key_message(me.static_public_key).endswith(me.static_public_key)


def test_identity_and_static_keys_differ() -> None:
    me = Identity.generate()
    assert me.public_key != me.static_public_key
    rotated = me.rotate_static_key()
    assert rotated.public_key == me.public_key
    assert rotated.static_public_key != me.static_public_key
    verify_static_key(rotated.public_key, rotated.static_public_key, rotated.static_signature)


def test_from_secrets_rejects_mismatched_parts() -> None:
    a, b = Identity.generate(), Identity.generate()
    with pytest.raises(IdentityError):
        Identity.from_secrets(a.signing_seed, b.static_private, a.static_signature)
    with pytest.raises(IdentityError):
        Identity.from_secrets(a.signing_seed[:31], a.static_private, a.static_signature)


def test_signatures_verify_and_tampering_fails() -> None:
    me = Identity.generate()
    sig = me.sign(b"accord v1")
    verify(me.public_key, b"accord v1", sig)
    nacl.signing.VerifyKey(me.public_key).verify(b"accord v1", sig)  # plain Ed25519 (RFC 8032)
    with pytest.raises(IdentityError):
        verify(me.public_key, b"accord v2", sig)
    with pytest.raises(IdentityError):
        verify(me.public_key, b"accord v1", bytes([sig[0] ^ 1]) + sig[1:])


def test_fingerprint_shape_and_stability() -> None:
    key = bytes(range(32))
    fpr = fingerprint(key)
    assert re.fullmatch(r"([0-9a-hjkmnp-tv-z]{4}-){7}[0-9a-hjkmnp-tv-z]{4}", fpr)
    assert fingerprint(key) == fpr
    assert fingerprint(key, groups=2) == fpr[:9]
    assert fingerprint(bytes(31) + b"\1") != fingerprint(bytes(32))
    with pytest.raises(IdentityError):
        fingerprint(b"short")


def test_repr_hides_secrets() -> None:
    me = Identity.generate()
    text = repr(me)
    assert me.signing_seed.hex() not in text and me.static_private.hex() not in text
    assert me.fingerprint in text
