"""Framing, sans-IO: how wire messages are delimited on each kind of link.

- ``tcp``: 2-byte big-endian length prefix; the first error ends the stream.
- ``ble``: GATT fragments sized from the ATT MTU with sequence numbers; the first error ends it.
- ``serial``: COBS + CRC32, 0x00 delimited; bad frames are counted and skipped (shared with
  ``firmware_bridge/``).

Each module's docstring is the byte-level spec. Malformed input raises ``FrameError``
(a ``ProtocolError``), except on serial where it is counted instead.
"""

from edge_dan.wire.framing.ble import BleFragmenter, BleReassembler
from edge_dan.wire.framing.serial import SerialDeframer, SerialErrors, encode_serial_frame
from edge_dan.wire.framing.tcp import TcpDeframer, encode_frame

__all__ = [
    "BleFragmenter",
    "BleReassembler",
    "SerialDeframer",
    "SerialErrors",
    "TcpDeframer",
    "encode_frame",
    "encode_serial_frame",
]
