"""QR pairing: one-time, expiring payload into IKpsk2."""

from __future__ import annotations

import contextlib
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_dan.pairing.qr import QR_SCHEME, QrInvite, QrPayload, QrScan, qr_psk, render_qr
from edge_dan.wire.errors import (
    DecryptError,
    HandshakeError,
    InvalidPairingPayload,
    PairingWindowClosed,
    ProtocolError,
)
from edge_dan.wire.noise import Handshake, KeyPair

PROLOGUE = b"edge-dan/1 test"


def handshake(initiator: Handshake, responder: Handshake) -> None:
    responder.read_message(initiator.write_message(b"hello"))
    initiator.read_message(responder.write_message(b"welcome"))


def test_scan_and_pair() -> None:
    shower, scanner = KeyPair.generate(), KeyPair.generate()
    invite = QrInvite(shower, now=1000.0, ttl=60)
    text = invite.text
    assert text.startswith(f"{QR_SCHEME}:1:") and text == text.upper()
    scan = QrScan(text, scanner)
    i, r = scan.initiator(PROLOGUE), invite.responder(1010.0, PROLOGUE)
    handshake(i, r)
    assert i.complete and r.complete
    # Key confirmation on the showing side: the scanner's first transport message decrypts.
    i_send, _ = i.split()
    _, r_receive = r.split()
    assert r_receive.decrypt(i_send.encrypt(b"paired?")) == b"paired?"
    mine, theirs = scan.result(i), invite.result(r)
    assert mine.advert_key == theirs.advert_key and len(mine.advert_key) == 32
    assert mine.peer_static == shower.public and theirs.peer_static == scanner.public
    assert mine.method == theirs.method == "qr"
    assert invite.payload.secret.hex() not in repr(invite.payload)


def test_wrong_secret_fails_and_spends_the_offer() -> None:
    shower, scanner = KeyPair.generate(), KeyPair.generate()
    invite = QrInvite(shower, now=0.0)
    guessed = QrPayload(shower.public, secrets.token_bytes(16))
    i, r = QrScan(guessed, scanner).initiator(), invite.responder(1.0)
    r.read_message(i.write_message())  # message 1 proves nothing about the secret ...
    reply = r.write_message()
    with pytest.raises(DecryptError):
        i.read_message(reply)  # ... message 2 does: the scanner with a wrong secret stops here
    assert not i.complete
    with pytest.raises(PairingWindowClosed):  # and the real owner must be shown a new QR
        invite.responder(2.0)


def test_without_the_secret_no_transport_message_reaches_the_shower() -> None:
    """Someone who knows the shower's static key but not the secret completes message 1 (psk2
    enters on message 2), yet cannot read message 2, so it never holds the transport keys; the
    shower accepts no transport message it did not get from the real scanner."""
    shower, attacker = KeyPair.generate(), KeyPair.generate()
    invite = QrInvite(shower, now=0.0)
    r = invite.responder(0.0)
    fake = Handshake(
        "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b",
        initiator=True,
        s=attacker,
        rs=shower.public,
        psks=[qr_psk(secrets.token_bytes(16))],
    )
    r.read_message(fake.write_message())
    reply = r.write_message()
    assert r.complete  # the shower cannot know yet: key confirmation comes next
    with pytest.raises(DecryptError):
        fake.read_message(reply)
    with pytest.raises(HandshakeError):
        fake.split()  # no transport keys for the attacker
    _, r_receive = r.split()
    for _ in range(20):
        with pytest.raises(DecryptError):
            r_receive.decrypt(secrets.token_bytes(40))


def test_a_qr_of_another_key_fails_at_the_first_message() -> None:
    shower, impostor, scanner = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    invite = QrInvite(shower, now=0.0)
    swapped = QrPayload(impostor.public, invite.payload.secret)  # a stuck-on QR with another key
    with pytest.raises(DecryptError):
        invite.responder(0.0).read_message(QrScan(swapped, scanner).initiator().write_message())


def test_reuse_is_refused() -> None:
    shower = KeyPair.generate()
    invite = QrInvite(shower, now=0.0)
    handshake(QrScan(invite.text, KeyPair.generate()).initiator(), invite.responder(0.0))
    assert not invite.is_open(0.0)
    with pytest.raises(PairingWindowClosed, match="used"):
        invite.responder(0.0)


def test_expired_is_refused() -> None:
    invite = QrInvite(KeyPair.generate(), now=100.0, ttl=30)
    assert invite.is_open(129.9) and not invite.is_open(130.0)
    with pytest.raises(PairingWindowClosed, match="expired"):
        invite.responder(130.0)
    with pytest.raises(PairingWindowClosed):
        invite.responder(100.0)  # a clock going back does not reopen it


def test_closed_by_the_owner() -> None:
    invite = QrInvite(KeyPair.generate(), now=0.0)
    invite.close()
    with pytest.raises(PairingWindowClosed):
        invite.responder(0.0)


def test_result_needs_the_completed_handshake() -> None:
    invite = QrInvite(KeyPair.generate(), now=0.0)
    with pytest.raises(HandshakeError):
        invite.result(invite.responder(0.0))


def test_payload_text_round_trip_and_tolerance() -> None:
    payload = QrPayload(secrets.token_bytes(32), secrets.token_bytes(16))
    text = payload.to_text()
    assert len(text) < 90
    assert QrPayload.parse(text) == payload
    assert QrPayload.parse(f"  {text.lower()}\n") == payload


@pytest.mark.parametrize(
    "text",
    [
        "",
        "EDGEDAN:1:",
        "EDGEDAN:2:" + "A" * 77,
        "OTHER:1:" + "A" * 77,
        "EDGEDAN:1:" + "A" * 76,
        "EDGEDAN:1:" + "A" * 78,
        "EDGEDAN:1:" + "1" * 77,  # not base32
        "EDGEDAN:1:" + "A" * 76 + "é",
        "EDGEDAN:1:AAAA:BBBB",
        "x" * 1000,
    ],
)
def test_bad_payload_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidPairingPayload):
        QrPayload.parse(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120) | st.just("EDGEDAN:1:").map(lambda p: p + "A" * 77))
def test_parse_raises_only_protocol_errors(text: str) -> None:
    with contextlib.suppress(ProtocolError):
        QrPayload.parse(text)


def test_render_shows_a_terminal_qr_when_qrcode_is_installed() -> None:
    invite = QrInvite(KeyPair.generate(), now=0.0)
    shown = invite.render()
    assert shown.rstrip().endswith(invite.text)
    art = render_qr(invite.text)
    if art is None:
        pytest.skip("qrcode is not installed (optional): the text alone is shown")
    assert len(art.splitlines()) > 15 and "█" in art
