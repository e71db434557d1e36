"""BLE GATT framing, Nordic-UART style: messages cut into fragments that fit one ATT packet.

The central writes fragments to the RX characteristic (write without response); the peripheral
sends them as TX notifications. Each write or notification is exactly one fragment::

    +-----+-------+-------------------+
    | seq | flags | data (0..N bytes) |
    +-----+-------+-------------------+

- ``seq``: 1 byte, counts fragments (not messages) in one direction, 0 for the first fragment of a
  connection, then +1 mod 256.
- ``flags``: 1 byte. 0x80 FIRST: the fragment starts a message. 0x40 LAST: it ends one. A message
  that fits one fragment sets both. Bits 0x3F are reserved and must be 0.
- ``data``: at least 1 byte, except the single FIRST|LAST fragment of an empty message.
  The sender puts N = min(ATT_MTU - 3, 512) - 2 bytes in every fragment but the last; receivers do
  not depend on that, so each direction may use its own MTU. A whole fragment never exceeds 512
  bytes, the ATT attribute value cap.

Write-commands and notifications are never retransmitted, so a lost fragment cannot be repaired:
a sequence gap, a duplicate, a FIRST inside a message, a continuation outside one, bad flags or a
message over the limit end the session. The reassembler then stays failed.
"""

from __future__ import annotations

from edge_dan.wire.errors import FrameError

MIN_ATT_MTU = 23  # the Bluetooth default; every stack supports it
MAX_ATT_MTU = 517  # what BlueZ and Android ask for; the value itself is still capped at 512
MAX_ATT_VALUE = 512
FRAGMENT_HEADER_LEN = 2
FIRST = 0x80
LAST = 0x40
DEFAULT_MAX_MESSAGE = 65535  # a Noise message


def chunk_size(att_mtu: int) -> int:
    """Data bytes per fragment at this ATT MTU (the 3-byte ATT header and our 2 bytes taken)."""
    if not MIN_ATT_MTU <= att_mtu <= MAX_ATT_MTU:
        raise ValueError(f"ATT MTU must be {MIN_ATT_MTU}..{MAX_ATT_MTU}, got {att_mtu}")
    return min(att_mtu - 3, MAX_ATT_VALUE) - FRAGMENT_HEADER_LEN


def _check_max_message(max_message: int) -> None:
    if max_message < 0:
        raise ValueError(f"max_message must be >= 0, got {max_message}")


class BleFragmenter:
    """Cuts outgoing messages into fragments, numbering them across messages."""

    __slots__ = ("_chunk", "_max_message", "_seq")

    def __init__(self, att_mtu: int = MIN_ATT_MTU, max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        _check_max_message(max_message)
        self._chunk = chunk_size(att_mtu)
        self._max_message = max_message
        self._seq = 0

    @property
    def chunk_size(self) -> int:
        return self._chunk

    def set_att_mtu(self, att_mtu: int) -> None:
        """Use a newly negotiated MTU from the next message on (the exchange may come late)."""
        self._chunk = chunk_size(att_mtu)

    def fragment(self, message: bytes) -> list[bytes]:
        """The fragments to send, in order, one GATT write or notification each."""
        if len(message) > self._max_message:
            raise FrameError(
                f"message of {len(message)} bytes exceeds the BLE limit {self._max_message}"
            )
        pieces = [message[i : i + self._chunk] for i in range(0, len(message), self._chunk)]
        pieces = pieces or [b""]
        fragments = []
        for index, piece in enumerate(pieces):
            flags = (FIRST if index == 0 else 0) | (LAST if index == len(pieces) - 1 else 0)
            fragments.append(bytes((self._seq, flags)) + piece)
            self._seq = (self._seq + 1) % 256
        return fragments


class BleReassembler:
    """Rebuilds messages from received fragments; any irregularity ends the session for good."""

    __slots__ = ("_error", "_expected_seq", "_max_message", "_parts", "_size")

    def __init__(self, max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        _check_max_message(max_message)
        self._max_message = max_message
        self._expected_seq = 0
        self._parts: list[bytes] | None = None  # None between messages
        self._size = 0
        self._error: FrameError | None = None

    @property
    def failed(self) -> bool:
        return self._error is not None

    @property
    def in_message(self) -> bool:
        """A message has started and not yet ended (its last fragment is still to come)."""
        return self._parts is not None

    def feed(self, fragment: bytes) -> bytes | None:
        """Take one fragment; return the message it completes, or None if more must follow."""
        if self._error is not None:
            raise FrameError(f"the BLE link already failed: {self._error}")
        try:
            return self._accept(fragment)
        except FrameError as error:
            self._error = error
            self._parts = None
            raise

    def _accept(self, fragment: bytes) -> bytes | None:
        if len(fragment) < FRAGMENT_HEADER_LEN:
            raise FrameError(f"BLE fragment of {len(fragment)} bytes has no room for its header")
        if len(fragment) > MAX_ATT_VALUE:
            raise FrameError(f"BLE fragment of {len(fragment)} bytes exceeds the ATT value cap")
        seq, flags = fragment[0], fragment[1]
        data = fragment[FRAGMENT_HEADER_LEN:]
        if seq != self._expected_seq:
            kind = "duplicate" if seq == (self._expected_seq - 1) % 256 else "gap"
            raise FrameError(f"BLE sequence {kind}: expected {self._expected_seq}, got {seq}")
        if flags & ~(FIRST | LAST):
            raise FrameError(f"BLE fragment has reserved flag bits set: {flags:#04x}")
        if flags & FIRST:
            if self._parts is not None:
                raise FrameError("BLE fragment starts a message before the previous one ended")
            parts: list[bytes] = []
            size = 0
        elif self._parts is None:
            raise FrameError("BLE continuation fragment arrived outside a message")
        else:
            parts, size = self._parts, self._size
        if not data and flags != FIRST | LAST:
            raise FrameError("BLE fragment carries no data")
        size += len(data)
        if size > self._max_message:
            raise FrameError(f"BLE message exceeds the limit of {self._max_message} bytes")
        self._expected_seq = (seq + 1) % 256
        parts.append(data)
        if flags & LAST:
            self._parts = None
            return b"".join(parts)
        self._parts, self._size = parts, size
        return None
