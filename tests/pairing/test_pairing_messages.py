"""Pairing messages: byte-exact encodings and their limits."""

from __future__ import annotations

import pytest

from edge_dan.wire.errors import MessageError
from edge_dan.wire.messages import Message, decode, encode, registered
from edge_dan.wire.messages.pairing import (
    AbortCode,
    PairAbort,
    PairCommit,
    PairConfirm,
    PairNonce,
    PairReveal,
    PairSpake,
)

B32 = bytes(range(32))
B33 = bytes(range(33))

# [1, type id (uint16: 0x19 + 2 bytes), {key: value}], worked out by hand from RFC 8949.
GOLDEN: list[tuple[Message, str]] = [
    (PairCommit(B32), "8301190100a1005820" + B32.hex()),
    (PairNonce(B32), "8301190101a1005820" + B32.hex()),
    (PairReveal(B32), "8301190102a1005820" + B32.hex()),
    (PairConfirm(True), "8301190103a100f5"),
    (PairConfirm(False), "8301190103a100f4"),
    (PairAbort(AbortCode.COMMITMENT, "x"), "8301190104a20002016178"),
    (PairSpake(B33), "8301190105a1005821" + B33.hex()),
]


@pytest.mark.parametrize(("message", "data_hex"), GOLDEN)
def test_golden_encodings(message: Message, data_hex: str) -> None:
    assert encode(message).hex() == data_hex
    assert decode(bytes.fromhex(data_hex)) == message


def test_pairing_types_sit_in_the_pairing_range() -> None:
    ids = [t for t, cls in registered().items() if cls.__module__.endswith(".pairing")]
    assert sorted(ids) == list(range(0x100, 0x106))
    assert all(256 <= t <= 511 for t in ids)


@pytest.mark.parametrize(
    "message",
    [
        PairCommit(B32[:31]),
        PairNonce(B32 + b"\x00"),
        PairReveal(b""),
        PairSpake(B32),
        PairAbort(1, "x" * 121),
        PairAbort(-1, ""),
        PairConfirm(1),  # type: ignore[arg-type]
    ],
)
def test_out_of_schema_values_do_not_encode(message: Message) -> None:
    with pytest.raises(MessageError):
        encode(message)
