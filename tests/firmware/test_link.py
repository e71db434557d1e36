"""The sans-IO host link: numbering, byte-at-a-time reception, and what it drops."""

from __future__ import annotations

from edge_dan.bridge.codec import Ack, ErrorCode, Hello, State, decode, encode
from edge_dan.bridge.link import BridgeLink, DeviceRefused
from edge_dan.wire.framing.serial import encode_serial_frame


def test_sequence_numbers_skip_zero_when_they_wrap() -> None:
    link = BridgeLink()
    assert [link.next_seq() for _ in range(2)] == [1, 2]
    link._last_seq = 65534
    assert [link.next_seq() for _ in range(3)] == [65535, 1, 2]


def test_requests_are_framed_canonical_messages() -> None:
    link = BridgeLink()
    frame = link.frame(Hello(7, 1))
    assert frame == encode_serial_frame(encode(Hello(7, 1)))
    assert frame.count(0) == 1 and frame.endswith(b"\x00")


def test_messages_arrive_whole_even_when_fed_one_byte_at_a_time() -> None:
    link = BridgeLink()
    stream = b"\x00" + link.frame(Ack(1)) + link.frame(State(2, {0: 215}, bytes(32)))
    received = []
    for byte in stream:
        received += link.receive(bytes((byte,)))
    assert received == [Ack(1), State(2, {0: 215}, bytes(32))]


def test_undecodable_messages_and_bad_frames_are_counted_not_raised() -> None:
    link = BridgeLink()
    not_canonical = b"\x83\x01\x19\x05\x06\xa1\x00\x18\x01"  # ACK with seq 1 in two bytes
    bad_crc = bytearray(link.frame(Ack(3)))
    bad_crc[2] ^= 0x40
    received = link.receive(
        encode_serial_frame(not_canonical) + bytes(bad_crc) + link.frame(Ack(4))
    )
    assert received == [Ack(4)]
    assert link.counters.messages_refused == 1
    assert link.counters.frames.crc == 1
    assert decode(encode(Ack(4))) == Ack(4)


def test_a_refusal_reads_as_a_sentence() -> None:
    refusal = DeviceRefused("Set", ErrorCode.OUT_OF_RANGE, "setpoint 50..300")
    assert str(refusal) == "the device refused Set: out_of_range (setpoint 50..300)"
    assert "code 200" in str(DeviceRefused("Set", 200, ""))
