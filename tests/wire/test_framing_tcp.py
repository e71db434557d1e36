"""TCP framing: 2-byte big-endian length + payload."""

from __future__ import annotations

import pytest
from framing_helpers import feed_in_pieces
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_dan.wire.errors import FrameError
from edge_dan.wire.framing import TcpDeframer, encode_frame
from edge_dan.wire.framing.tcp import MAX_TCP_PAYLOAD

# Golden frames: shared vectors for other implementations; change them only with the format.
GOLDEN = [
    (b"\x00", "000100"),
    (b"hello", "000568656c6c6f"),
    (bytes(range(256)) * 2, "0200" + bytes(range(256)).hex() * 2),
]

payloads = st.binary(min_size=1, max_size=600)


@pytest.mark.parametrize(("payload", "frame_hex"), GOLDEN)
def test_golden_frames(payload: bytes, frame_hex: str) -> None:
    assert encode_frame(payload).hex() == frame_hex
    assert TcpDeframer().feed(bytes.fromhex(frame_hex)) == [payload]


def test_largest_frame_has_header_ffff() -> None:
    frame = encode_frame(b"\xab" * MAX_TCP_PAYLOAD)
    assert frame[:2] == b"\xff\xff"
    assert len(frame) == 2 + 65535
    assert TcpDeframer().feed(frame) == [b"\xab" * MAX_TCP_PAYLOAD]


@given(st.lists(payloads, max_size=8), st.lists(st.integers(min_value=0), max_size=20))
def test_round_trip_with_any_chunking(messages: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(m) for m in messages)
    deframer = TcpDeframer()
    assert feed_in_pieces(deframer, stream, cuts) == messages
    assert deframer.buffered == 0


def test_byte_by_byte_delivery_buffers_one_partial_frame() -> None:
    deframer = TcpDeframer()
    frame = encode_frame(b"abc")
    for byte in frame[:-1]:
        assert deframer.feed(bytes([byte])) == []
    assert deframer.buffered == len(frame) - 1
    assert deframer.feed(frame[-1:]) == [b"abc"]


def test_zero_length_frame_is_refused() -> None:
    with pytest.raises(FrameError, match="empty"):
        TcpDeframer().feed(b"\x00\x00")


def test_oversize_frame_is_refused_from_its_header_alone() -> None:
    deframer = TcpDeframer(max_payload=100)
    assert deframer.feed(encode_frame(b"x" * 100)) == [b"x" * 100]
    with pytest.raises(FrameError, match="101 bytes, limit 100"):
        deframer.feed(b"\x00\x65")  # no payload byte needed to know
    assert deframer.buffered == 0


def test_buffer_never_exceeds_one_frame() -> None:
    deframer = TcpDeframer(max_payload=1000)
    deframer.feed(encode_frame(b"y" * 1000)[:-1])
    assert deframer.buffered == 2 + 999
    assert deframer.feed(b"y" + encode_frame(b"z")[:1]) == [b"y" * 1000]
    assert deframer.buffered == 1


def test_after_an_error_the_deframer_stays_failed() -> None:
    deframer = TcpDeframer()
    with pytest.raises(FrameError):
        deframer.feed(b"\x00\x00")
    assert deframer.failed
    with pytest.raises(FrameError, match="already failed"):
        deframer.feed(encode_frame(b"valid"))


def test_error_in_the_middle_of_a_chunk_raises() -> None:
    with pytest.raises(FrameError):
        TcpDeframer().feed(encode_frame(b"ok") + b"\x00\x00" + encode_frame(b"later"))


@pytest.mark.parametrize(
    ("payload", "limit", "match"),
    [(b"", MAX_TCP_PAYLOAD, "empty"), (b"x" * 11, 10, "exceeds"), (b"x" * 65536, 65535, "exceeds")],
)
def test_encode_refuses_empty_and_oversize(payload: bytes, limit: int, match: str) -> None:
    with pytest.raises(FrameError, match=match):
        encode_frame(payload, max_payload=limit)


@pytest.mark.parametrize("limit", [0, -1, 65536])
def test_limits_outside_the_format_are_programming_errors(limit: int) -> None:
    with pytest.raises(ValueError, match="max_payload"):
        TcpDeframer(max_payload=limit)
    with pytest.raises(ValueError, match="max_payload"):
        encode_frame(b"x", max_payload=limit)


@settings(max_examples=500)
@given(
    st.binary(max_size=2000),
    st.lists(st.integers(min_value=0), max_size=20),
    st.integers(min_value=1, max_value=MAX_TCP_PAYLOAD),
)
def test_fuzz_arbitrary_bytes_only_raise_frame_error(
    data: bytes, cuts: list[int], limit: int
) -> None:
    deframer = TcpDeframer(max_payload=limit)
    try:
        for frame in feed_in_pieces(deframer, data, cuts):
            assert 1 <= len(frame) <= limit
    except FrameError:
        assert deframer.failed
    assert deframer.buffered <= 2 + limit
