"""Negotiation wire messages: byte-exact golden encodings and strict decoding."""

from __future__ import annotations

import pytest

from edge_dan.wire.errors import MessageError
from edge_dan.wire.messages import Message, decode, encode
from edge_dan.wire.messages.negotiation import (
    MAX_LISTED_PER_MESSAGE,
    Answer,
    Bids,
    Join,
    OpenRound,
    Propose,
    Withdraw,
    WithdrawCode,
)

NID = bytes(range(16))
ID_HEX = "50" + NID.hex()  # a 16-byte CBOR byte string


@pytest.mark.parametrize(
    ("message", "golden"),
    [
        # [1, 513, {0: id}]
        (Join(NID), "8301190201a100" + ID_HEX),
        # [1, 514, {0: id, 1: round 3, 2: first level 2, 3: [[5, 700], []]}]
        (Bids(NID, 3, 2, ((5, 700), ())), "8301190202a400" + ID_HEX + "01030202038282051902bc80"),
        # [1, 515, {0: id, 1: round 3, 2: outcome 700, 3: time 1000}]
        (Propose(NID, 3, 700, 1000), "8301190203a400" + ID_HEX + "0103021902bc031903e8"),
        # [1, 519, {0: id, 1: round 2, 2: levels 3}]
        (OpenRound(NID, 2, 3), "8301190207a300" + ID_HEX + "01020203"),
        # [1, 516, {0: id, 1: round 3, 2: false, 3: b""}]
        (Answer(NID, 3, False, b""), "8301190204a400" + ID_HEX + "010302f40340"),
        # [1, 518, {0: id, 1: 3}]
        (Withdraw(NID, WithdrawCode.DEADLINE), "8301190206a200" + ID_HEX + "0103"),
    ],
)
def test_golden_encodings(message: Message, golden: str) -> None:
    assert encode(message).hex() == golden
    assert decode(bytes.fromhex(golden)) == message


def test_limits_are_enforced_both_ways() -> None:
    with pytest.raises(MessageError):
        encode(Bids(NID, 1, 0, (tuple(range(MAX_LISTED_PER_MESSAGE + 1)),)))
    with pytest.raises(MessageError):
        encode(Answer(NID, 1, True, b"\x00" * 65))
    with pytest.raises(MessageError):
        encode(Join(b"short"))
    # A float where an outcome index belongs is refused on decode.
    tampered = bytes.fromhex("8301190202a400" + ID_HEX + "0103020203818105")
    assert isinstance(decode(tampered), Bids)
    with pytest.raises(MessageError):
        decode(bytes.fromhex("8301190202a400" + ID_HEX + "01030202038181fb3ff0000000000000"))
