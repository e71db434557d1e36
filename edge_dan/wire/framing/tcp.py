"""TCP framing: each frame is a 2-byte big-endian length followed by that many payload bytes.

Byte layout of one frame::

    +--------+--------+---------------------+
    | len hi | len lo | payload (len bytes) |
    +--------+--------+---------------------+

``len`` is 1..65535 (65535 is the Noise message cap). A zero length is an error: every Noise
message has at least one byte, so a zero can only mean a broken or hostile peer. A receiver may
set a lower maximum; a larger ``len`` is an error as soon as the two length bytes arrive, before
any payload is buffered. A stream has no way to resynchronise, so the first error is final.
"""

from __future__ import annotations

from edge_dan.wire.errors import FrameError

MAX_TCP_PAYLOAD = 65535
HEADER_LEN = 2


def _check_max(max_payload: int) -> None:
    if not 1 <= max_payload <= MAX_TCP_PAYLOAD:
        raise ValueError(f"max_payload must be 1..{MAX_TCP_PAYLOAD}, got {max_payload}")


def encode_frame(payload: bytes, max_payload: int = MAX_TCP_PAYLOAD) -> bytes:
    """The frame that carries ``payload``; raises ``FrameError`` for an empty or oversize one."""
    _check_max(max_payload)
    if not payload:
        raise FrameError("a TCP frame cannot be empty")
    if len(payload) > max_payload:
        raise FrameError(f"payload of {len(payload)} bytes exceeds the frame limit {max_payload}")
    return len(payload).to_bytes(HEADER_LEN, "big") + payload


class TcpDeframer:
    """Splits a TCP byte stream into frame payloads.

    Holds at most one partial frame, so its buffer never exceeds ``2 + max_payload`` bytes between
    calls. After a ``FrameError`` it stays failed: the stream position is lost for good.
    """

    __slots__ = ("_buffer", "_error", "_max_payload")

    def __init__(self, max_payload: int = MAX_TCP_PAYLOAD) -> None:
        _check_max(max_payload)
        self._max_payload = max_payload
        self._buffer = bytearray()
        self._error: FrameError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received that do not yet form a complete frame."""
        return len(self._buffer)

    @property
    def failed(self) -> bool:
        return self._error is not None

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the payloads of the frames they complete, in order.

        Raises ``FrameError`` on a zero or oversize length. Frames completed earlier in the same
        ``data`` are then dropped with the connection; nothing after a bad header is trustworthy.
        """
        if self._error is not None:
            raise FrameError(f"the TCP stream already failed: {self._error}")
        self._buffer += data
        frames: list[bytes] = []
        pos = 0
        while len(self._buffer) - pos >= HEADER_LEN:
            length = int.from_bytes(self._buffer[pos : pos + HEADER_LEN], "big")
            if length == 0 or length > self._max_payload:
                self._error = FrameError(
                    "received an empty TCP frame"
                    if length == 0
                    else f"received a TCP frame of {length} bytes, limit {self._max_payload}"
                )
                self._buffer.clear()
                raise self._error
            end = pos + HEADER_LEN + length
            if end > len(self._buffer):
                break
            frames.append(bytes(self._buffer[pos + HEADER_LEN : end]))
            pos = end
        del self._buffer[:pos]
        return frames
