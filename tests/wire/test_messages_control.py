"""Session control messages: byte-exact encodings and the limits each field declares."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_dan.wire.errors import MessageError
from edge_dan.wire.messages import (
    FORMAT_VERSION,
    PROTOCOL_VERSION,
    Close,
    CloseCode,
    Error,
    ErrorCode,
    HandshakePayload,
    Message,
    Ping,
    Pong,
    decode,
    decode_as,
    encode,
)

IDENTITY = bytes(range(32))
SIGNATURE = bytes(range(64, 128))

# Golden encodings, worked out by hand from RFC 8949: [1, type id, {key: value}].
GOLDEN: list[tuple[Message, str]] = [
    (Ping(0), "830102a10000"),
    (Ping(24), "830102a1001818"),
    (Pong(2**64 - 1), "830103a1001bffffffffffffffff"),
    (Close(CloseCode.NORMAL, ""), "830104a200000160"),
    (Close(CloseCode.TIMEOUT, "bye"), "830104a200020163627965"),
    (Error(ErrorCode.UNKNOWN_TYPE, 77, "x"), "830105a3000201184d026178"),
    (
        HandshakePayload(PROTOCOL_VERSION, IDENTITY, SIGNATURE, ("noise-xx", "neg/1")),
        "830101a4"
        + "0001"  # 0: version 1
        + "015820"
        + IDENTITY.hex()  # 1: 32 bytes
        + "025840"
        + SIGNATURE.hex()  # 2: 64 bytes
        + "0382"
        + "686e6f6973652d7878"
        + "656e65672f31",  # 3: ["noise-xx", "neg/1"]
    ),
    (
        HandshakePayload(1, IDENTITY, SIGNATURE, ()),
        "830101a4" + "0001" + "015820" + IDENTITY.hex() + "025840" + SIGNATURE.hex() + "0380",
    ),
]


@pytest.mark.parametrize(("message", "data_hex"), GOLDEN)
def test_golden_encodings(message: Message, data_hex: str) -> None:
    assert encode(message).hex() == data_hex
    assert decode(bytes.fromhex(data_hex)) == message


def test_format_and_protocol_versions_start_at_one() -> None:
    assert FORMAT_VERSION == 1
    assert PROTOCOL_VERSION == 1


def test_codes_arrive_as_plain_integers_and_unknown_codes_are_accepted() -> None:
    assert encode(Close(CloseCode.TIMEOUT, "")) == encode(Close(2, ""))
    decoded = decode_as(encode(Close(999, "from a newer peer")), Close)
    assert decoded.code == 999
    assert decoded == Close(999, "from a newer peer")


@given(st.integers(0, 2**64 - 1))
def test_ping_and_pong_counters_cover_64_bits(counter: int) -> None:
    assert decode(encode(Ping(counter))) == Ping(counter)
    assert decode(encode(Pong(counter))) == Pong(counter)


def test_ping_and_pong_with_the_same_counter_differ_on_the_wire() -> None:
    assert encode(Ping(7)) != encode(Pong(7))


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (HandshakePayload(1, IDENTITY[:31], SIGNATURE, ()), "31 bytes, allowed 32..32"),
        (HandshakePayload(1, IDENTITY + b"\x00", SIGNATURE, ()), "33 bytes, allowed 32..32"),
        (HandshakePayload(1, IDENTITY, SIGNATURE[:63], ()), "63 bytes, allowed 64..64"),
        (HandshakePayload(65536, IDENTITY, SIGNATURE, ()), "outside 0..65535"),
        (HandshakePayload(1, IDENTITY, SIGNATURE, ("",)), "0 UTF-8 bytes, allowed 1..32"),
        (HandshakePayload(1, IDENTITY, SIGNATURE, ("c" * 33,)), "33 UTF-8 bytes"),
        (HandshakePayload(1, IDENTITY, SIGNATURE, ("c",) * 17), "17 items, allowed 0..16"),
        (Close(65536, ""), "outside 0..65535"),
        (Error(1, -1, ""), "outside 0..65535"),
        (Error(1, 0, "d" * 121), "121 UTF-8 bytes"),
    ],
)
def test_limits_hold_both_ways(message: Message, match: str) -> None:
    with pytest.raises(MessageError, match=match):
        encode(message)


def test_a_peer_cannot_send_what_we_would_not() -> None:
    # The same limits apply to decoding: a hand-made capability list of 17 entries.
    data = bytes.fromhex(
        "830101a4"
        + "0001"
        + "015820"
        + IDENTITY.hex()
        + "025840"
        + SIGNATURE.hex()
        + "0391"
        + "6163" * 17
    )
    with pytest.raises(MessageError, match="17 items"):
        decode(data)


def test_largest_handshake_payload_stays_small() -> None:
    # What a Noise handshake message has to carry at most (all limits reached).
    largest = HandshakePayload(65535, IDENTITY, SIGNATURE, ("c" * 32,) * 16)
    assert len(encode(largest)) == 4 + 4 + 35 + 67 + 2 + 16 * 34
