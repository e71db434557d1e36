"""Errors of the wire layer.

Everything a peer can make happen by sending bytes (malformed, tampered, oversize, replayed)
raises a ``ProtocolError`` subclass, so a transport needs one ``except ProtocolError`` to drop a
bad session without ever crashing on a stranger's input.
"""

from __future__ import annotations

from edge_dan.errors import EdgeDanError


class ProtocolError(EdgeDanError):
    """A wire protocol failed: bad input from the peer or a protocol used the wrong way."""


class UnsupportedProtocol(ProtocolError):
    """A protocol name asks for a pattern or primitive edge_dan does not implement."""


class HandshakeError(ProtocolError):
    """A handshake message is malformed, out of turn, or the handshake was set up wrongly."""


class DecryptError(ProtocolError):
    """A ciphertext failed authentication: tampered, truncated, wrong key or wrong order."""


class MessageTooLarge(ProtocolError):
    """A message exceeds the Noise limit of 65535 bytes."""


class NonceExhausted(ProtocolError):
    """A cipher state used its last nonce; only a new handshake can continue the conversation."""


class FrameError(ProtocolError):
    """A frame or fragment on a link is malformed, oversize, out of sequence or out of place."""


class MessageError(ProtocolError):
    """A wire message does not match its schema, or its CBOR is malformed or not canonical."""
