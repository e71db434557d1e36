"""Serial framing: COBS over payload + CRC32, 0x00 delimited. Shared with ``firmware_bridge/``.

Sender, for a payload P of 1..max_payload bytes (default and largest 65535)::

    B     = P || CRC32(P) as 4 bytes, least significant byte first
    frame = COBS(B) || 0x00

CRC32 is the IEEE 802.3 / zlib one: reflected polynomial 0xEDB88320, initial value 0xFFFFFFFF,
final XOR 0xFFFFFFFF (CRC32("123456789") = 0xCBF43926, sent as 26 39 F4 CB). P is never empty:
CRC32 of nothing is 0, which would make a run of 01 bytes a valid frame.

COBS (Cheshire and Baker, 1999) rewrites B without any 0x00 as blocks ``code d1 .. d(code-1)``,
code 1..255, every d non-zero:

- Encoding: cut B at each 0x00 (dropping it) into pieces; B of k zeros gives k + 1 pieces, some
  perhaps empty. Each piece of L bytes becomes, while L >= 254, a block FF + its next 254 bytes,
  then one block (L + 1) + the rest (0..253 bytes). So 254 non-zero bytes encode as
  FF d1..d254 01, and 11 22 00 33 as 03 11 22 02 33.
- Decoding: concatenate the blocks' data, adding a 0x00 after each block whose code is not FF,
  except after the last block. This also accepts a frame ending in an FF block, as written by COBS
  libraries that drop the final 01. A block longer than the bytes left is malformed.

Receiver: split the stream at each 0x00. An empty frame (two 0x00 in a row) is skipped silently, so
a sender may send a 0x00 first to flush line noise. A frame that is malformed COBS, decodes to 4
bytes or fewer, fails its CRC, holds more than max_payload bytes, or grows past
``max_encoded_len(max_payload)`` = n + 1 + n // 254 bytes with n = max_payload + 4 (then the rest
up to the next 0x00 is not stored) is counted and dropped, and reception resumes after the next
0x00: a UART is noisy and a device may start listening in the middle of a frame.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from edge_dan.wire.errors import FrameError

DELIMITER = 0x00
CRC_LEN = 4
MAX_SERIAL_PAYLOAD = 65535
_MAX_BLOCK = 254  # data bytes in a 0xFF block


def cobs_encode(data: bytes) -> bytes:
    out = bytearray()
    for piece in data.split(b"\x00"):
        start = 0
        while len(piece) - start >= _MAX_BLOCK:
            out += b"\xff" + piece[start : start + _MAX_BLOCK]
            start += _MAX_BLOCK
        out.append(len(piece) - start + 1)
        out += piece[start:]
    return bytes(out)


def cobs_decode(encoded: bytes) -> bytes:
    """Inverse of ``cobs_encode``; raises ``FrameError`` on a 0x00 or a block past the end."""
    if DELIMITER in encoded:
        raise FrameError("COBS data contains a 0x00")
    out = bytearray()
    pos = 0
    while pos < len(encoded):
        end = pos + encoded[pos]
        if end > len(encoded):
            raise FrameError("malformed COBS: a block runs past the end of the frame")
        out += encoded[pos + 1 : end]
        if encoded[pos] != 0xFF and end < len(encoded):
            out.append(0)
        pos = end
    return bytes(out)


def max_encoded_len(payload_len: int) -> int:
    """Longest COBS encoding (delimiter excluded) of a payload of this size plus its CRC."""
    raw = payload_len + CRC_LEN
    return raw + 1 + raw // _MAX_BLOCK


def encode_serial_frame(payload: bytes, max_payload: int = MAX_SERIAL_PAYLOAD) -> bytes:
    """The frame for ``payload``, trailing 0x00 included."""
    if not payload:
        raise FrameError("a serial frame cannot be empty")
    if len(payload) > max_payload:
        raise FrameError(f"payload of {len(payload)} bytes exceeds the serial limit {max_payload}")
    crc = zlib.crc32(payload).to_bytes(CRC_LEN, "little")
    return cobs_encode(payload + crc) + bytes((DELIMITER,))


@dataclass
class SerialErrors:
    """What a noisy line has cost so far; each dropped frame counts once."""

    cobs: int = 0  # malformed COBS
    short: int = 0  # no payload byte before the CRC
    crc: int = 0  # CRC mismatch
    oversize: int = 0  # longer than the largest valid frame

    @property
    def total(self) -> int:
        return self.cobs + self.short + self.crc + self.oversize


class SerialDeframer:
    """Splits a serial byte stream into payloads; never raises on input, resyncs at each 0x00.

    Buffers at most ``max_encoded_len(max_payload)`` bytes: past that the frame is dropped as
    oversize and the bytes up to the next delimiter are discarded without being stored.
    """

    __slots__ = ("_buffer", "_discarding", "_max_encoded", "_max_payload", "errors", "frames")

    def __init__(self, max_payload: int = MAX_SERIAL_PAYLOAD) -> None:
        if not 1 <= max_payload <= MAX_SERIAL_PAYLOAD:
            raise ValueError(f"max_payload must be 1..{MAX_SERIAL_PAYLOAD}, got {max_payload}")
        self._max_payload = max_payload
        self._max_encoded = max_encoded_len(max_payload)
        self._buffer = bytearray()
        self._discarding = False
        self.errors = SerialErrors()
        self.frames = 0  # frames delivered

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the payloads of the valid frames they complete, in order."""
        payloads: list[bytes] = []
        pieces = data.split(b"\x00")
        for index, piece in enumerate(pieces):
            if not self._discarding:
                if len(self._buffer) + len(piece) > self._max_encoded:
                    self.errors.oversize += 1
                    self._buffer.clear()
                    self._discarding = True
                else:
                    self._buffer += piece
            if index == len(pieces) - 1:
                break  # no delimiter after the last piece: the frame goes on in later data
            if not self._discarding and self._buffer:
                payload = self._decode(bytes(self._buffer))
                if payload is not None:
                    payloads.append(payload)
            self._buffer.clear()
            self._discarding = False
        self.frames += len(payloads)
        return payloads

    def _decode(self, encoded: bytes) -> bytes | None:
        try:
            raw = cobs_decode(encoded)
        except FrameError:
            self.errors.cobs += 1
            return None
        if len(raw) <= CRC_LEN:
            self.errors.short += 1
            return None
        payload, crc = raw[:-CRC_LEN], raw[-CRC_LEN:]
        if zlib.crc32(payload).to_bytes(CRC_LEN, "little") != crc:
            self.errors.crc += 1
            return None
        if len(payload) > self._max_payload:
            self.errors.oversize += 1
            return None
        return payload
