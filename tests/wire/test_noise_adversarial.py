"""What a hostile or broken peer can send: every failure must be a ProtocolError and harmless."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_dan.wire.errors import (
    DecryptError,
    HandshakeError,
    MessageTooLarge,
    NonceExhausted,
    ProtocolError,
    UnsupportedProtocol,
)
from edge_dan.wire.noise import MAX_MESSAGE_LEN, CipherState, Handshake, KeyPair

XX = "Noise_XX_25519_ChaChaPoly_BLAKE2b"
IK = "Noise_IK_25519_ChaChaPoly_BLAKE2b"
ALICE, BOB, MALLORY = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()


def _xx_pair() -> tuple[Handshake, Handshake]:
    return Handshake(XX, True, s=ALICE), Handshake(XX, False, s=BOB)


def _flips(message: bytes) -> list[bytes]:
    return [
        message[:i] + bytes([message[i] ^ 0x01]) + message[i + 1 :] for i in range(len(message))
    ]


def _finish(initiator: Handshake, responder: Handshake) -> None:
    while not initiator.complete:
        sender, receiver = (initiator, responder) if initiator.my_turn else (responder, initiator)
        receiver.read_message(sender.write_message())
    assert responder.complete


@pytest.mark.parametrize("index", [1, 2])
def test_every_flipped_byte_of_an_authenticated_message_is_refused(index: int) -> None:
    initiator, responder = _xx_pair()
    messages = [b"", b""]
    responder.read_message(initiator.write_message())
    genuine = responder.write_message(b"secret payload two")
    if index == 2:
        initiator.read_message(genuine)
        genuine = initiator.write_message(b"secret payload three")
    receiver = initiator if index == 1 else responder
    for forged in _flips(genuine):
        with pytest.raises(ProtocolError):
            messages.append(receiver.read_message(forged))
    assert messages == [b"", b""], "no forged message may yield a payload"
    # A refused forgery leaves the state untouched: the genuine message still completes the run.
    assert receiver.read_message(genuine).startswith(b"secret payload")


def test_every_flipped_byte_of_an_ik_message_is_refused() -> None:
    initiator = Handshake(IK, True, s=ALICE, rs=BOB.public)
    responder = Handshake(IK, False, s=BOB)
    first = initiator.write_message(b"early data")
    for forged in _flips(first):
        with pytest.raises(ProtocolError):
            responder.read_message(forged)
    assert responder.remote_static is None, "no forged message may set the peer's key"
    assert responder.read_message(first) == b"early data"
    second = responder.write_message(b"reply")
    for forged in _flips(second):
        with pytest.raises(ProtocolError):
            initiator.read_message(forged)
    assert initiator.read_message(second) == b"reply"
    assert initiator.complete


def test_tampered_unencrypted_first_message_fails_at_the_next_message() -> None:
    initiator, responder = _xx_pair()
    first = initiator.write_message()
    responder.read_message(first[:5] + bytes([first[5] ^ 0x80]) + first[6:])
    with pytest.raises(DecryptError):
        initiator.read_message(responder.write_message())


def test_ik_with_the_wrong_responder_key_is_refused_by_the_responder() -> None:
    initiator = Handshake(IK, True, s=ALICE, rs=MALLORY.public)
    responder = Handshake(IK, False, s=BOB)
    with pytest.raises(DecryptError):
        responder.read_message(initiator.write_message(b"hello"))
    assert responder.remote_static is None


@pytest.mark.parametrize(
    ("pattern", "refusing_message"), [("XXpsk3", 2), ("IKpsk2", 1), ("NNpsk0", 0)]
)
def test_wrong_psk_is_refused(pattern: str, refusing_message: int) -> None:
    name = f"Noise_{pattern}_25519_ChaChaPoly_SHA256"
    needs_rs = pattern.startswith("IK")
    statics = {"XX": (ALICE, BOB), "IK": (ALICE, BOB), "NN": (None, None)}[pattern[:2]]
    initiator = Handshake(
        name, True, s=statics[0], rs=BOB.public if needs_rs else None, psks=[os.urandom(32)]
    )
    responder = Handshake(name, False, s=statics[1], psks=[os.urandom(32)])
    for index in range(refusing_message):
        sender, receiver = (initiator, responder) if index % 2 == 0 else (responder, initiator)
        receiver.read_message(sender.write_message())
    sender, receiver = (
        (initiator, responder) if refusing_message % 2 == 0 else (responder, initiator)
    )
    with pytest.raises(DecryptError):
        receiver.read_message(sender.write_message(b"payload"))


def test_truncated_handshake_messages_are_refused() -> None:
    initiator, responder = _xx_pair()
    responder.read_message(initiator.write_message())
    second = responder.write_message(b"payload")
    for length in range(len(second)):
        with pytest.raises(ProtocolError):
            initiator.read_message(second[:length])
    assert initiator.read_message(second) == b"payload"


def test_oversize_handshake_messages_are_refused() -> None:
    initiator, responder = _xx_pair()
    with pytest.raises(MessageTooLarge):
        responder.read_message(bytes(MAX_MESSAGE_LEN + 1))
    with pytest.raises(MessageTooLarge):
        initiator.write_message(bytes(MAX_MESSAGE_LEN - 32 + 1))
    # Exactly at the limit works: 32 bytes of ephemeral key, no tag yet (no key in message one).
    first = initiator.write_message(bytes(MAX_MESSAGE_LEN - 32))
    assert len(first) == MAX_MESSAGE_LEN
    assert responder.read_message(first) == bytes(MAX_MESSAGE_LEN - 32)
    # Message two carries e (32), encrypted s (48) and the payload's tag (16).
    with pytest.raises(MessageTooLarge):
        responder.write_message(bytes(MAX_MESSAGE_LEN - 96 + 1))
    second = responder.write_message(bytes(MAX_MESSAGE_LEN - 96))
    assert len(second) == MAX_MESSAGE_LEN
    assert initiator.read_message(second) == bytes(MAX_MESSAGE_LEN - 96)


def test_low_order_ephemeral_key_is_refused() -> None:
    responder = Handshake(XX, False, s=BOB)
    responder.read_message(bytes(32))  # message one is unauthenticated, so it reads
    with pytest.raises(HandshakeError, match="low-order"):
        responder.write_message()
    nk = Handshake("Noise_NK_25519_ChaChaPoly_BLAKE2b", False, s=BOB)
    with pytest.raises(HandshakeError, match="low-order"):
        nk.read_message(bytes(48))


def test_out_of_order_use_is_refused() -> None:
    initiator, responder = _xx_pair()
    with pytest.raises(HandshakeError, match="out of turn"):
        initiator.read_message(bytes(32))
    with pytest.raises(HandshakeError, match="out of turn"):
        responder.write_message()
    with pytest.raises(HandshakeError):
        initiator.split()
    with pytest.raises(HandshakeError):
        _ = initiator.handshake_hash
    _finish(initiator, responder)
    with pytest.raises(HandshakeError, match="complete"):
        initiator.write_message()
    initiator.split()
    with pytest.raises(HandshakeError, match="already"):
        initiator.split()


@pytest.mark.parametrize(
    ("name", "complaint"),
    [
        ("Noise_XX_448_ChaChaPoly_BLAKE2b", "448"),
        ("Noise_XX_25519_AESGCM_BLAKE2b", "AESGCM"),
        ("Noise_XX_25519_ChaChaPoly_BLAKE2s", "BLAKE2s"),
        ("Noise_XXfallback_25519_ChaChaPoly_BLAKE2b", "fallback"),
        ("Noise_XXhfs_25519+Kyber1024_ChaChaPoly_BLAKE2b", "25519+Kyber1024"),
        ("Noise_NNhfs_25519_ChaChaPoly_BLAKE2b", "'hfs'"),
        ("Noise_ZZ_25519_ChaChaPoly_BLAKE2b", "ZZ"),
        ("Noise_XXpsk4_25519_ChaChaPoly_BLAKE2b", "psk4"),
        ("Noise_XXpsk03_25519_ChaChaPoly_BLAKE2b", "psk03"),
        ("Noise_XXpsk\u0663_25519_ChaChaPoly_BLAKE2b", "psk\u0663"),
        ("Noise_XXpsk1+psk1_25519_ChaChaPoly_BLAKE2b", "repeats"),
        ("NoisePSK_XX_25519_ChaChaPoly_BLAKE2b", "not a Noise protocol name"),
    ],
)
def test_unsupported_protocol_names_say_what_is_unsupported(name: str, complaint: str) -> None:
    with pytest.raises(UnsupportedProtocol, match=re.escape(complaint)):
        Handshake(name, True)


def test_misconfigured_keys_are_refused() -> None:
    with pytest.raises(HandshakeError, match="needs this side's static"):
        Handshake(XX, True)
    with pytest.raises(HandshakeError, match="rs"):
        Handshake(XX, True, s=ALICE, rs=BOB.public)
    with pytest.raises(HandshakeError, match="rs"):
        Handshake(IK, True, s=ALICE)
    with pytest.raises(HandshakeError, match="psks"):
        Handshake("Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b", True, s=ALICE)
    with pytest.raises(HandshakeError, match="32 bytes"):
        Handshake("Noise_NNpsk0_25519_ChaChaPoly_BLAKE2b", True, psks=[b"short"])


def _transport_pair() -> tuple[tuple[CipherState, CipherState], tuple[CipherState, CipherState]]:
    initiator, responder = _xx_pair()
    _finish(initiator, responder)
    return initiator.split(), responder.split()


def test_tampered_transport_message_is_refused_without_losing_sync() -> None:
    (send, _), (_, receive) = _transport_pair()
    genuine = send.encrypt(b"transport payload")
    for forged in _flips(genuine):
        with pytest.raises(DecryptError):
            receive.decrypt(forged)
    with pytest.raises(DecryptError):
        receive.decrypt(genuine[:15])
    with pytest.raises(MessageTooLarge):
        receive.decrypt(bytes(MAX_MESSAGE_LEN + 1))
    with pytest.raises(MessageTooLarge):
        send.encrypt(bytes(MAX_MESSAGE_LEN - 16 + 1))
    assert receive.nonce == 0
    assert receive.decrypt(genuine) == b"transport payload"
    assert len(send.encrypt(bytes(MAX_MESSAGE_LEN - 16))) == MAX_MESSAGE_LEN


def test_replayed_transport_message_is_refused() -> None:
    (send, _), (_, receive) = _transport_pair()
    message = send.encrypt(b"once")
    assert receive.decrypt(message) == b"once"
    with pytest.raises(DecryptError):
        receive.decrypt(message)


def test_nonce_exhaustion_raises() -> None:
    key = os.urandom(32)
    sender, receiver = CipherState(key, nonce=2**64 - 2), CipherState(key, nonce=2**64 - 2)
    assert receiver.decrypt(sender.encrypt(b"last")) == b"last"
    assert sender.nonce == receiver.nonce == 2**64 - 1
    with pytest.raises(NonceExhausted):
        sender.encrypt(b"one too many")
    with pytest.raises(NonceExhausted):
        receiver.decrypt(bytes(32))
    receiver.rekey()  # rekey uses the reserved nonce internally but never resets the counter
    with pytest.raises(NonceExhausted):
        receiver.decrypt(bytes(32))


def test_rekey_changes_keys_and_keeps_both_sides_in_sync() -> None:
    (send, receive), (peer_send, peer_receive) = _transport_pair()
    assert peer_receive.decrypt(send.encrypt(b"before")) == b"before"
    stale = send.copy()
    send.rekey()
    peer_receive.rekey()
    fresh = send.encrypt(b"after")
    assert fresh != stale.encrypt(b"after"), "same nonce and plaintext: only the key differs"
    assert peer_receive.decrypt(fresh) == b"after"
    # The other direction keeps its own key until it rekeys too.
    assert receive.decrypt(peer_send.encrypt(b"reply")) == b"reply"
    peer_send.rekey()
    late = peer_send.encrypt(b"sent after the peer rekeyed")
    with pytest.raises(DecryptError):
        receive.decrypt(late)
    receive.rekey()  # the refused message left the nonce alone, so catching up restores sync
    assert receive.decrypt(late) == b"sent after the peer rekeyed"
    for number in range(10):
        assert receive.decrypt(peer_send.encrypt(bytes([number]))) == bytes([number])
        assert peer_receive.decrypt(send.encrypt(bytes([number]))) == bytes([number])


def _read_position(position: str) -> Handshake:
    """A handshake waiting to read, at a few points where different tokens are parsed."""
    if position == "xx-responder-first":
        return Handshake(XX, False, s=BOB)
    if position == "xx-initiator-second":
        initiator = Handshake(XX, True, s=ALICE)
        initiator.write_message()
        return initiator
    if position == "ik-responder-first":
        return Handshake(IK, False, s=BOB)
    psk = "Noise_NNpsk0+psk2_25519_ChaChaPoly_SHA256"
    return Handshake(psk, False, psks=[bytes(32), bytes(32)])


@settings(max_examples=300, deadline=None)
@given(
    position=st.sampled_from(
        ["xx-responder-first", "xx-initiator-second", "ik-responder-first", "nnpsk-responder"]
    ),
    message=st.binary(max_size=400),
)
def test_random_bytes_raise_only_protocol_errors(position: str, message: bytes) -> None:
    handshake = _read_position(position)
    try:
        handshake.read_message(message)
    except ProtocolError:
        return
    # Only a message without anything authenticated may read: XX's first is e + plaintext.
    assert position == "xx-responder-first"


@settings(max_examples=300, deadline=None)
@given(message=st.binary(max_size=200), nonce=st.sampled_from([0, 1, 2**64 - 2, 2**64 - 1]))
def test_random_ciphertexts_raise_only_protocol_errors(message: bytes, nonce: int) -> None:
    with pytest.raises(ProtocolError):
        CipherState(bytes(32), nonce).decrypt(message)
