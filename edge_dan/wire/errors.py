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


class PeerAuthenticationError(HandshakeError):
    """The peer's handshake payload does not prove who it is: its identity key did not sign the
    Noise static key it used, or the identity is not the one this side expected."""


class SessionStateError(ProtocolError):
    """A session was asked to do something its current state does not allow (for example
    ``send`` before the handshake completed or after ``close``)."""


class SendBufferFull(ProtocolError):
    """Outgoing frames waiting for the transport exceed the session's limit; drain
    ``take_outgoing()`` (let the transport catch up) before sending more."""


class ConnectionLost(ProtocolError):
    """The link under a session went away before the session ended with a close handshake."""


class SessionClosed(ProtocolError):
    """The session has ended (``code`` and ``reason`` say why); nothing more goes either way.

    A ``ProtocolError`` subclass so one ``except ProtocolError`` still covers every way a session
    stops; catch ``SessionClosed`` first to tell an orderly end from a failure.
    """

    def __init__(self, code: int, reason: str, by_peer: bool) -> None:
        who = "the peer" if by_peer else "this side"
        super().__init__(f"session closed by {who} (code {code}): {reason or 'no reason given'}")
        self.code = code
        self.reason = reason
        self.by_peer = by_peer


class PairingError(ProtocolError):
    """Pairing failed or was refused; nothing from the attempt may be trusted or stored."""


class PairingAborted(PairingError):
    """The peer aborted the pairing, or broke its order (out of turn, duplicate, wrong role)."""


class CommitmentMismatch(PairingError):
    """The revealed nonce does not open the commitment: the peer (or a relay) cheated."""


class PairingRejected(PairingError):
    """An owner said the codes differ (or declined); the pairing must not be stored."""


class PairingWindowClosed(PairingError):
    """A one-time pairing offer is used up, expired, or closed after too many failed attempts."""


class PeerKeyChanged(PairingError):
    """A paired peer presented a static key other than the one stored at pairing: refused."""


class PeerNotPaired(PairingError):
    """A peer nobody paired with asked for more than pairing: refused."""


class InvalidPairingPayload(PairingError):
    """A scanned or typed pairing payload (QR text, code) is malformed or of an unknown version."""
