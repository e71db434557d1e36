"""Short-code pairing: SPAKE2 into XXpsk3, one-time, expiring, 5 attempts."""

from __future__ import annotations

import contextlib
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("spake2")

from edge_dan.pairing.code import CodeEntry, CodeWindow, normalise_code
from edge_dan.wire.errors import (
    DecryptError,
    HandshakeError,
    InvalidPairingPayload,
    PairingAborted,
    PairingWindowClosed,
    ProtocolError,
)
from edge_dan.wire.messages import encode
from edge_dan.wire.messages.pairing import PairSpake
from edge_dan.wire.noise import Handshake, KeyPair

PROLOGUE = b"edge-dan/1 test"


def attempt(window: CodeWindow, typed: str, now: float = 0.0) -> tuple[Handshake, Handshake]:
    """SPAKE2 then XXpsk3 messages 1 and 2; returns (initiator, responder) before message 3."""
    entry = CodeEntry(typed, KeyPair.generate(), digits=window.digits)
    reply, tried = window.accept(entry.start(), now, PROLOGUE)
    i, r = entry.receive(reply, PROLOGUE), tried.handshake
    r.read_message(i.write_message())
    i.read_message(r.write_message())  # message 2 does not depend on the psk: no oracle here
    return i, r


def test_right_code_pairs() -> None:
    pi, phone = KeyPair.generate(), KeyPair.generate()
    window = CodeWindow(pi, now=0.0, ttl=60)
    assert len(window.code) == 8 and window.code.isdigit()
    entry = CodeEntry(f"{window.code[:4]} {window.code[4:]}", phone)  # typed with a space
    reply, tried = window.accept(entry.start(), 1.0, PROLOGUE)
    i = entry.receive(reply, PROLOGUE)
    r = tried.handshake
    r.read_message(i.write_message())
    i.read_message(r.write_message())
    r.read_message(i.write_message())
    assert i.complete and r.complete
    _, i_receive = i.split()
    r_send, _ = r.split()
    assert i_receive.decrypt(r_send.encrypt(b"confirm")) == b"confirm"
    theirs, mine = window.complete(tried), entry.result(i)
    assert mine.advert_key == theirs.advert_key and mine.method == "code"
    assert mine.peer_static == pi.public and theirs.peer_static == phone.public
    assert not window.is_open(1.0)
    with pytest.raises(PairingWindowClosed):  # one-time
        window.accept(CodeEntry(window.code, phone).start(), 2.0)


def wrong(code: str, flip: int = 0) -> str:
    digit = (int(code[flip]) + 1) % 10
    return code[:flip] + str(digit) + code[flip + 1 :]


def test_wrong_code_fails_at_the_window_without_an_oracle() -> None:
    window = CodeWindow(KeyPair.generate(), now=0.0)
    errors = []
    for guess in (wrong(window.code, 0), wrong(window.code, 7)):
        i, r = attempt(window, guess)
        message3 = i.write_message()
        with pytest.raises(DecryptError) as caught:
            r.read_message(message3)
        assert not r.complete
        errors.append(str(caught.value))
        assert window.code not in errors[-1] and guess not in errors[-1]
    assert errors[0] == errors[1]  # one digit or another wrong: the same answer


def test_after_five_wrong_codes_the_window_is_closed() -> None:
    window = CodeWindow(KeyPair.generate(), now=0.0, digits=6)
    for n in range(5):
        assert window.is_open(0.0) and window.attempts_left == 5 - n
        i, r = attempt(window, wrong(window.code, n))
        with pytest.raises(DecryptError):
            r.read_message(i.write_message())
    assert not window.is_open(0.0) and window.attempts_left == 0
    with pytest.raises(PairingWindowClosed, match="closed"):
        window.accept(CodeEntry(window.code, KeyPair.generate(), digits=6).start(), 0.0)


def test_the_fifth_attempt_may_still_succeed() -> None:
    window = CodeWindow(KeyPair.generate(), now=0.0, max_attempts=2)
    i, r = attempt(window, wrong(window.code))
    with pytest.raises(DecryptError):
        r.read_message(i.write_message())
    entry = CodeEntry(window.code, KeyPair.generate())
    reply, tried = window.accept(entry.start(), 0.0)
    i = entry.receive(reply)
    r = tried.handshake
    r.read_message(i.write_message())
    i.read_message(r.write_message())
    r.read_message(i.write_message())
    assert window.complete(tried).method == "code"


def test_expired_window_is_refused() -> None:
    window = CodeWindow(KeyPair.generate(), now=10.0, ttl=5)
    assert window.is_open(14.9) and not window.is_open(15.0)
    with pytest.raises(PairingWindowClosed, match="expired"):
        window.accept(CodeEntry(window.code, KeyPair.generate()).start(), 15.0)
    assert window.attempts_left == 5  # an expired window counts nothing


def test_closed_window_is_refused() -> None:
    window = CodeWindow(KeyPair.generate(), now=0.0)
    window.close()
    with pytest.raises(PairingWindowClosed):
        window.accept(CodeEntry(window.code, KeyPair.generate()).start(), 0.0)


def test_malformed_spake_messages_cost_no_attempt_and_raise_protocol_errors() -> None:
    window = CodeWindow(KeyPair.generate(), now=0.0)
    with pytest.raises(PairingAborted):
        window.accept(b"\x00\x01", 0.0)
    assert window.attempts_left == 5
    # Well-formed on the wire, but not a group element: costs an attempt, raises cleanly.
    with pytest.raises(PairingAborted):
        window.accept(encode(PairSpake(b"A" + b"\x11" * 32)), 0.0)
    with pytest.raises(PairingAborted):  # a reflected message (B's side to B)
        window.accept(encode(PairSpake(b"B" + secrets.token_bytes(32))), 0.0)


def test_entry_order_is_enforced() -> None:
    entry = CodeEntry("12345678", KeyPair.generate())
    with pytest.raises(PairingAborted):
        entry.receive(encode(PairSpake(b"B" + b"\x00" * 32)))
    entry.start()
    with pytest.raises(PairingAborted):
        entry.start()
    with pytest.raises(HandshakeError):
        entry.result(Handshake("Noise_XX_25519_ChaChaPoly_BLAKE2b", True, s=KeyPair.generate()))


@pytest.mark.parametrize("typed", ["", "1234567", "123456789", "1234567a", "١٢٣٤٥٦٧٨"])
def test_bad_typed_codes(typed: str) -> None:
    with pytest.raises(InvalidPairingPayload):
        normalise_code(typed)
    assert normalise_code("1234-5678") == "12345678"


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=60))
def test_window_raises_only_protocol_errors(data: bytes) -> None:
    window = CodeWindow(KeyPair.generate(), now=0.0)
    with contextlib.suppress(ProtocolError):
        window.accept(data, 0.0)


def test_only_one_of_two_concurrent_attempts_can_pair() -> None:
    window = CodeWindow(KeyPair.generate(), now=0.0)
    finished = []
    for _ in range(2):
        entry = CodeEntry(window.code, KeyPair.generate())
        reply, tried = window.accept(entry.start(), 0.0)
        i, r = entry.receive(reply), tried.handshake
        r.read_message(i.write_message())
        i.read_message(r.write_message())
        r.read_message(i.write_message())
        finished.append(tried)
    window.complete(finished[0])
    with pytest.raises(PairingWindowClosed):
        window.complete(finished[1])
    other = CodeWindow(KeyPair.generate(), now=0.0)
    with pytest.raises(HandshakeError):
        other.complete(finished[1])
