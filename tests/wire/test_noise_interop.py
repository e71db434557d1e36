"""Our Noise against an implementation nobody here wrote: the PyPI ``noiseprotocol`` package."""

from __future__ import annotations

import os
from typing import Any

import pytest

from edge_dan.wire.noise import Handshake, KeyPair

PATTERNS = ["XX", "IK", "XXpsk3", "IKpsk2"]
TRANSPORT_MESSAGES = 100


def _peer(
    protocol_name: str, initiator: bool, prologue: bytes, static: KeyPair, **keys: Any
) -> Any:
    noise_connection = pytest.importorskip("noise.connection")
    peer = noise_connection.NoiseConnection.from_name(protocol_name.encode())
    if initiator:
        peer.set_as_initiator()
    else:
        peer.set_as_responder()
    peer.set_prologue(prologue)
    peer.set_keypair_from_private_bytes(noise_connection.Keypair.STATIC, static.private)
    if keys.get("rs") is not None:
        peer.set_keypair_from_public_bytes(noise_connection.Keypair.REMOTE_STATIC, keys["rs"])
    if keys.get("psks"):
        peer.set_psks(psks=keys["psks"])
    peer.start_handshake()
    return peer


@pytest.mark.parametrize("we_initiate", [True, False], ids=["we-initiate", "we-respond"])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_interop(pattern: str, we_initiate: bool) -> None:
    protocol_name = f"Noise_{pattern}_25519_ChaChaPoly_BLAKE2b"
    prologue = b"edge_dan interop"
    ours, theirs = KeyPair.generate(), KeyPair.generate()
    psks = [os.urandom(32)] if "psk" in pattern else []
    # In IK the initiator knows the responder's static key in advance.
    knows_responder = pattern.startswith("IK")
    our_rs = theirs.public if knows_responder and we_initiate else None
    their_rs = ours.public if knows_responder and not we_initiate else None

    peer = _peer(protocol_name, not we_initiate, prologue, theirs, rs=their_rs, psks=psks)
    handshake = Handshake(protocol_name, we_initiate, prologue, s=ours, rs=our_rs, psks=psks)

    index = 0
    while not handshake.complete:
        payload = f"handshake payload {index}".encode()
        if handshake.my_turn:
            assert peer.read_message(handshake.write_message(payload)) == payload
        else:
            assert handshake.read_message(peer.write_message(payload)) == payload
        index += 1
    assert peer.handshake_finished
    assert handshake.handshake_hash == peer.get_handshake_hash()
    assert handshake.remote_static == theirs.public

    send, receive = handshake.split()
    for number in range(TRANSPORT_MESSAGES):
        outgoing = os.urandom(number * 7)
        assert peer.decrypt(send.encrypt(outgoing)) == outgoing
        incoming = os.urandom(number * 5 + 1)
        assert receive.decrypt(peer.encrypt(incoming)) == incoming
    assert send.nonce == receive.nonce == TRANSPORT_MESSAGES

    # Rekey (spec section "Rekey") must agree with the other implementation's too.
    send.rekey()
    peer.rekey_inbound_cipher()
    assert peer.decrypt(send.encrypt(b"after rekey")) == b"after rekey"
    receive.rekey()
    peer.rekey_outbound_cipher()
    assert receive.decrypt(peer.encrypt(b"after rekey back")) == b"after rekey back"
