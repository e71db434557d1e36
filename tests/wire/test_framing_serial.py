"""Serial framing: COBS(payload + CRC32 little-endian) + 0x00, resynchronising after bad frames."""

from __future__ import annotations

import pytest
from framing_helpers import feed_in_pieces
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_dan.wire.errors import FrameError
from edge_dan.wire.framing import SerialDeframer, SerialErrors, encode_serial_frame
from edge_dan.wire.framing.serial import (
    MAX_SERIAL_PAYLOAD,
    cobs_decode,
    cobs_encode,
    max_encoded_len,
)

# Golden frames, shared with firmware_bridge/: change them only with the format.
GOLDEN = [
    (b"123456789", "0e3132333435363738392639f4cb00"),  # CRC32 check value CBF43926
    (b"hello", "0a68656c6c6f86a6103600"),
    (b"\x00", "01058def02d200"),
    (b"\x11\x22\x00\x33", "03112206337e1cf84d00"),
    (b"\x00" * 5, "0101010101051df722c600"),
    # 250 non-zero bytes + a CRC without zeros: exactly one full 0xFF block, then 01.
    (bytes(range(1, 251)), "ff" + bytes(range(1, 251)).hex() + "95824c8b" + "0100"),
    # 251 + 4 bytes: a full block ends inside the CRC (50 ef 83 | 78).
    (bytes(range(1, 252)), "ff" + bytes(range(1, 252)).hex() + "50ef83" + "0278" + "00"),
]

payloads = st.binary(min_size=1, max_size=700)


@pytest.mark.parametrize(("payload", "frame_hex"), GOLDEN)
def test_golden_frames(payload: bytes, frame_hex: str) -> None:
    assert encode_serial_frame(payload).hex() == frame_hex
    deframer = SerialDeframer()
    assert deframer.feed(bytes.fromhex(frame_hex)) == [payload]
    assert deframer.errors == SerialErrors()


@pytest.mark.parametrize(
    ("data", "encoded"),
    [
        (b"", "01"),
        (b"\x00", "0101"),
        (b"\x00\x00", "010101"),
        (b"\x11\x22\x00\x33", "0311220233"),
        (b"\x11\x00\x00\x00", "0211010101"),
        (b"\x01" * 254, "ff" + "01" * 254 + "01"),
        (b"\x01" * 255, "ff" + "01" * 254 + "0201"),
        (b"\x01" * 254 + b"\x00", "ff" + "01" * 254 + "0101"),
    ],
)
def test_cobs_golden(data: bytes, encoded: str) -> None:
    assert cobs_encode(data).hex() == encoded
    assert cobs_decode(bytes.fromhex(encoded)) == data


@given(st.binary(max_size=2000))
def test_cobs_round_trip_never_emits_zero_and_respects_the_bound(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert 0 not in encoded
    assert len(encoded) <= len(data) + 1 + len(data) // 254
    assert cobs_decode(encoded) == data


def test_cobs_decoder_accepts_a_final_ff_block_without_the_trailing_01() -> None:
    assert cobs_decode(b"\xff" + b"\x07" * 254) == b"\x07" * 254


@pytest.mark.parametrize("encoded", ["02", "0511", "ff01", "0100", "00"])
def test_cobs_decoder_refuses_malformed_input(encoded: str) -> None:
    with pytest.raises(FrameError, match="COBS"):
        cobs_decode(bytes.fromhex(encoded))


@given(st.lists(payloads, max_size=6), st.lists(st.integers(min_value=0), max_size=20))
def test_round_trip_with_any_chunking(messages: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_serial_frame(m) for m in messages)
    deframer = SerialDeframer()
    assert feed_in_pieces(deframer, stream, cuts) == messages
    assert deframer.frames == len(messages)
    assert deframer.errors.total == 0
    assert deframer.buffered == 0


def test_largest_payload_round_trips() -> None:
    payload = bytes(i % 255 + 1 for i in range(MAX_SERIAL_PAYLOAD))
    frame = encode_serial_frame(payload)
    assert len(frame) == max_encoded_len(MAX_SERIAL_PAYLOAD) + 1
    assert SerialDeframer().feed(frame) == [payload]


def test_extra_delimiters_are_not_errors() -> None:
    deframer = SerialDeframer()
    frame = encode_serial_frame(b"ping")
    assert deframer.feed(b"\x00\x00" + frame + b"\x00\x00\x00" + frame) == [b"ping", b"ping"]
    assert deframer.errors.total == 0


@given(payloads, st.binary(max_size=300), payloads, st.lists(st.integers(0), max_size=10))
def test_garbage_between_frames_is_skipped(
    before: bytes, garbage: bytes, after: bytes, cuts: list[int]
) -> None:
    stream = encode_serial_frame(before) + garbage + b"\x00" + encode_serial_frame(after)
    delivered = feed_in_pieces(SerialDeframer(), stream, cuts)
    # Garbage could only add frames by carrying a valid CRC32 (odds 2^-32 per piece).
    assert delivered[0] == before
    assert delivered[-1] == after


def test_listening_from_the_middle_of_a_frame_costs_one_error() -> None:
    deframer = SerialDeframer()
    assert deframer.feed(encode_serial_frame(b"half heard")[4:]) == []
    assert deframer.feed(encode_serial_frame(b"next")) == [b"next"]
    assert deframer.errors.total == 1


def _only(**counts: int) -> SerialErrors:
    return SerialErrors(**counts)


@pytest.mark.parametrize(
    ("stream", "errors"),
    [
        (bytes.fromhex("0511223300"), _only(cobs=1)),  # block of 4 with 3 bytes left
        (bytes.fromhex("06112233445500"), _only(crc=1)),  # payload 11, CRC 55443322
        (bytes.fromhex("0311220000"), _only(short=1)),  # decodes to 2 bytes: CRC incomplete
        (bytes.fromhex("0211010100"), _only(short=1)),  # decodes to 11 00 00
        (bytes.fromhex("010101010100"), _only(short=1)),  # empty payload with its CRC 0
    ],
)
def test_bad_frames_are_counted_and_dropped(stream: bytes, errors: SerialErrors) -> None:
    deframer = SerialDeframer()
    assert deframer.feed(stream + encode_serial_frame(b"ok")) == [b"ok"]
    assert deframer.errors == errors
    assert deframer.frames == 1


def test_crc_mismatch_is_counted() -> None:
    frame = bytearray(encode_serial_frame(b"temperature=21"))
    frame[3] ^= 0x04
    deframer = SerialDeframer()
    assert deframer.feed(bytes(frame)) == []
    assert deframer.errors == _only(crc=1)


def test_every_single_bit_flip_is_dropped_and_the_next_frame_survives() -> None:
    frame = encode_serial_frame(b"\x00set point 21.5\x00")
    following = encode_serial_frame(b"after")
    for bit in range((len(frame) - 1) * 8):
        damaged = bytearray(frame)
        damaged[bit // 8] ^= 1 << (bit % 8)
        deframer = SerialDeframer()
        assert deframer.feed(bytes(damaged) + following) == [b"after"]
        assert deframer.errors.total >= 1


def test_oversize_frame_is_dropped_without_being_buffered() -> None:
    deframer = SerialDeframer(max_payload=100)
    limit = max_encoded_len(100)
    deframer.feed(b"\x55" * limit)
    assert deframer.buffered == limit
    assert deframer.feed(b"\x55" * 1_000_000) == []
    assert deframer.buffered == 0
    assert deframer.errors == _only(oversize=1)
    assert deframer.feed(b"\x00" + encode_serial_frame(b"ok")) == [b"ok"]


def test_frame_for_a_larger_payload_than_allowed_is_oversize() -> None:
    deframer = SerialDeframer(max_payload=10)
    assert deframer.feed(encode_serial_frame(b"x" * 11) + encode_serial_frame(b"y" * 10)) == [
        b"y" * 10
    ]
    assert deframer.errors == _only(oversize=1)


def test_payload_over_the_limit_within_the_encoded_bound_is_oversize() -> None:
    # With zeros in it, a 251-byte payload encodes into the bound computed for 250 bytes.
    payload = b"\x00" * 251
    frame = encode_serial_frame(payload)
    assert len(frame) - 1 <= max_encoded_len(250)
    deframer = SerialDeframer(max_payload=250)
    assert deframer.feed(frame) == []
    assert deframer.errors == _only(oversize=1)


@pytest.mark.parametrize(("payload", "limit"), [(b"", 10), (b"x" * 11, 10), (b"x" * 65536, 65535)])
def test_encode_refuses_empty_and_oversize(payload: bytes, limit: int) -> None:
    with pytest.raises(FrameError):
        encode_serial_frame(payload, max_payload=limit)


@pytest.mark.parametrize("limit", [0, 65536])
def test_limits_outside_the_format_are_programming_errors(limit: int) -> None:
    with pytest.raises(ValueError, match="max_payload"):
        SerialDeframer(max_payload=limit)


@settings(max_examples=500)
@given(
    st.binary(max_size=3000),
    st.lists(st.integers(min_value=0), max_size=20),
    st.integers(min_value=1, max_value=600),
)
def test_fuzz_never_raises_and_chunking_changes_nothing(
    data: bytes, cuts: list[int], limit: int
) -> None:
    whole = SerialDeframer(max_payload=limit)
    chunked = SerialDeframer(max_payload=limit)
    expected = whole.feed(data)
    assert feed_in_pieces(chunked, data, cuts) == expected
    assert chunked.errors == whole.errors
    assert all(1 <= len(p) <= limit for p in expected)
    assert chunked.buffered <= max_encoded_len(limit)


@settings(max_examples=300)
@given(st.lists(payloads, min_size=1, max_size=4), st.data())
def test_fuzz_noise_spliced_into_a_stream_never_raises(
    messages: list[bytes], data: st.DataObject
) -> None:
    stream = bytearray(b"".join(encode_serial_frame(m) for m in messages))
    at = data.draw(st.integers(0, len(stream)))
    stream[at:at] = data.draw(st.binary(max_size=50))
    delivered = SerialDeframer().feed(bytes(stream))
    assert len(delivered) <= len(messages) + 50
