"""BLE GATT fragments: [seq][flags FIRST=0x80 LAST=0x40][data], sized from the ATT MTU."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_dan.wire.errors import FrameError
from edge_dan.wire.framing import BleFragmenter, BleReassembler
from edge_dan.wire.framing.ble import chunk_size

MTUS = [23, 185, 247, 517]
TWENTY_KB = 20 * 1024


def _reassemble(fragments: list[bytes], reassembler: BleReassembler | None = None) -> list[bytes]:
    receiver = reassembler or BleReassembler()
    return [m for f in fragments if (m := receiver.feed(f)) is not None]


def _stream(messages: list[bytes], att_mtu: int) -> list[bytes]:
    sender = BleFragmenter(att_mtu)
    return [f for m in messages for f in sender.fragment(m)]


# Golden fragments at ATT MTU 23 (18 data bytes each), one connection, three messages in a row.
GOLDEN_MESSAGES = [bytes(range(40)), b"", b"hi"]
GOLDEN_FRAGMENTS = [
    "0080000102030405060708090a0b0c0d0e0f1011",
    "0100" + "12131415161718191a1b1c1d1e1f20212223",
    "024024252627",
    "03c0",
    "04c06869",
]


def test_golden_fragments_at_mtu_23() -> None:
    assert [f.hex() for f in _stream(GOLDEN_MESSAGES, 23)] == GOLDEN_FRAGMENTS
    assert _reassemble([bytes.fromhex(f) for f in GOLDEN_FRAGMENTS]) == GOLDEN_MESSAGES


def test_golden_fragments_at_mtu_517_fill_the_512_byte_attribute() -> None:
    message = bytes(range(256)) * 2 + b"\xee" * 88  # 600 bytes: 510 + 90
    first, last = BleFragmenter(517).fragment(message)
    assert first[:2].hex() == "0080"
    assert len(first) == 512
    assert last[:2].hex() == "0140"
    assert last[2:] == message[510:]


@pytest.mark.parametrize(
    ("mtu", "chunk"), [(23, 18), (185, 180), (247, 242), (515, 510), (517, 510)]
)
def test_chunk_size_is_mtu_minus_att_header_capped_at_512_minus_ours(mtu: int, chunk: int) -> None:
    assert chunk_size(mtu) == chunk
    assert BleFragmenter(mtu).chunk_size == chunk


@pytest.mark.parametrize("mtu", [0, 22, 518, 65535])
def test_mtu_outside_23_to_517_is_refused(mtu: int) -> None:
    with pytest.raises(ValueError, match="ATT MTU"):
        BleFragmenter(mtu)
    with pytest.raises(ValueError, match="ATT MTU"):
        BleFragmenter(23).set_att_mtu(mtu)


def test_sequence_wraps_mod_256_across_messages() -> None:
    fragments = _stream([b"m"] * 300, 23)
    assert [f[0] for f in fragments[254:258]] == [254, 255, 0, 1]
    assert _reassemble(fragments) == [b"m"] * 300


@pytest.mark.parametrize("mtu", MTUS)
@pytest.mark.parametrize("size", [0, 1, 17, 18, 19, 241, 242, 243, 509, 510, 511, TWENTY_KB])
def test_messages_up_to_20_kb_round_trip(mtu: int, size: int) -> None:
    message = bytes(i % 251 for i in range(size))
    fragments = BleFragmenter(mtu).fragment(message)
    assert all(len(f) <= min(mtu - 3, 512) for f in fragments)
    assert len(fragments) == max(1, -(-size // chunk_size(mtu)))
    assert _reassemble(fragments) == [message]


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(MTUS),
    st.lists(st.integers(min_value=0, max_value=TWENTY_KB), min_size=1, max_size=4),
    st.integers(),
)
def test_random_messages_round_trip(mtu: int, sizes: list[int], seed: int) -> None:
    rnd = random.Random(seed)
    messages = [rnd.randbytes(n) for n in sizes]
    assert _reassemble(_stream(messages, mtu)) == messages


def test_mtu_may_change_between_messages() -> None:
    sender = BleFragmenter(23)
    fragments = sender.fragment(b"a" * 100)
    sender.set_att_mtu(247)
    fragments += sender.fragment(b"b" * 1000)
    assert _reassemble(fragments) == [b"a" * 100, b"b" * 1000]


@pytest.mark.parametrize("mtu", MTUS)
def test_dropping_any_one_fragment_raises(mtu: int) -> None:
    messages = [b"\x01" * 2000, b"", b"\x02" * 7, b"\x03" * 700, b"last"]
    fragments = _stream(messages, mtu)
    # The last fragment of all has no successor to reveal its loss: see the next test.
    for dropped in range(len(fragments) - 1):
        kept = fragments[:dropped] + fragments[dropped + 1 :]
        with pytest.raises(FrameError, match="sequence gap"):
            _reassemble(kept)


def test_a_lost_final_fragment_shows_as_an_unfinished_message() -> None:
    # Nothing follows it to reveal the gap; the session's timeout covers this case.
    receiver = BleReassembler()
    assert _reassemble(BleFragmenter(23).fragment(b"x" * 50)[:-1], receiver) == []
    assert receiver.in_message
    assert not receiver.failed


def test_duplicate_fragment_raises() -> None:
    first, _ = BleFragmenter(23).fragment(b"z" * 30)
    receiver = BleReassembler()
    receiver.feed(first)
    with pytest.raises(FrameError, match="duplicate"):
        receiver.feed(first)


def _fragment(seq: int, flags: int, data: bytes = b"d") -> bytes:
    return bytes((seq, flags)) + data


@pytest.mark.parametrize(
    ("fragments", "match"),
    [
        ([b""], "no room for its header"),
        ([b"\x00"], "no room for its header"),
        ([_fragment(0, 0xC0, b"x" * 511)], "ATT value cap"),
        ([_fragment(1, 0xC0)], "sequence gap: expected 0, got 1"),
        ([_fragment(0, 0xC1)], "reserved flag"),
        ([_fragment(0, 0x00)], "outside a message"),
        ([_fragment(0, 0x40)], "outside a message"),
        ([_fragment(0, 0xC0), _fragment(1, 0x40)], "outside a message"),
        ([_fragment(0, 0x80), _fragment(1, 0x80)], "before the previous one ended"),
        ([_fragment(0, 0x80), _fragment(1, 0xC0)], "before the previous one ended"),
        ([_fragment(0, 0x80, b"")], "no data"),
        ([_fragment(0, 0x80), _fragment(1, 0x00, b"")], "no data"),
        ([_fragment(0, 0x80), _fragment(1, 0x40, b"")], "no data"),
    ],
)
def test_malformed_fragments_raise(fragments: list[bytes], match: str) -> None:
    with pytest.raises(FrameError, match=match):
        _reassemble(fragments)


def test_overlong_message_raises_before_it_is_complete() -> None:
    receiver = BleReassembler(max_message=100)
    fragments = BleFragmenter(23, max_message=200).fragment(b"q" * 200)
    with pytest.raises(FrameError, match="limit of 100"):
        _reassemble(fragments, receiver)
    assert receiver.failed


def test_message_at_the_limit_is_accepted() -> None:
    fragments = BleFragmenter(23, max_message=100).fragment(b"q" * 100)
    assert _reassemble(fragments, BleReassembler(max_message=100)) == [b"q" * 100]


def test_fragmenter_refuses_a_message_over_its_limit() -> None:
    with pytest.raises(FrameError, match="exceeds the BLE limit"):
        BleFragmenter(23, max_message=10).fragment(b"x" * 11)
    with pytest.raises(FrameError, match="exceeds the BLE limit"):
        BleFragmenter(517).fragment(b"x" * 65536)


def test_negative_limits_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="max_message"):
        BleFragmenter(23, max_message=-1)
    with pytest.raises(ValueError, match="max_message"):
        BleReassembler(max_message=-1)


def test_after_an_error_the_reassembler_stays_failed() -> None:
    receiver = BleReassembler()
    with pytest.raises(FrameError):
        receiver.feed(_fragment(5, 0xC0))
    assert receiver.failed
    assert not receiver.in_message
    with pytest.raises(FrameError, match="already failed"):
        receiver.feed(_fragment(0, 0xC0))


@settings(max_examples=500)
@given(st.lists(st.binary(max_size=520), max_size=30), st.integers(min_value=0, max_value=4096))
def test_fuzz_arbitrary_fragments_only_raise_frame_error(
    fragments: list[bytes], limit: int
) -> None:
    receiver = BleReassembler(max_message=limit)
    try:
        for message in _reassemble(fragments, receiver):
            assert len(message) <= limit
    except FrameError:
        assert receiver.failed


@settings(max_examples=300)
@given(
    st.lists(st.binary(max_size=600), min_size=1, max_size=4),
    st.sampled_from(MTUS),
    st.data(),
)
def test_fuzz_one_corrupted_fragment_only_raises_frame_error(
    messages: list[bytes], mtu: int, data: st.DataObject
) -> None:
    fragments = _stream(messages, mtu)
    index = data.draw(st.integers(0, len(fragments) - 1))
    fragments[index] = data.draw(st.binary(max_size=520))
    with contextlib.suppress(FrameError):
        _reassemble(fragments)
