"""Messages of the session itself: who is speaking, keepalives, errors and the end of a session."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated, ClassVar

from edge_dan.wire.messages.schema import U16, U64, Bytes, List, Message, Text, Wire, register

PROTOCOL_VERSION = 1
MAX_CAPABILITIES = 16
MAX_CAPABILITY_LEN = 32
MAX_REASON_LEN = 120  # short enough for a log line and a small device's buffer


class CloseCode(IntEnum):
    """Why a session ends. Receivers must accept codes they do not know (as ``int``)."""

    NORMAL = 0
    PROTOCOL_ERROR = 1  # the peer broke the protocol; nothing it sent after that was used
    TIMEOUT = 2  # no keepalive answer in time
    UNSUPPORTED_VERSION = 3
    REFUSED = 4  # policy: e.g. an unpaired peer asked for more than pairing
    SHUTTING_DOWN = 5


class ErrorCode(IntEnum):
    """What went wrong with one message. Receivers must accept codes they do not know."""

    BAD_MESSAGE = 1  # did not decode or did not fit its schema
    UNKNOWN_TYPE = 2
    UNEXPECTED = 3  # valid, but not allowed in the current state
    INTERNAL = 4


@register
@dataclass(frozen=True)
class HandshakePayload(Message):
    """The payload inside the Noise handshake message that reveals the sender's static key.

    ``signature`` is the Ed25519 signature by ``identity_key`` over
    ``edge_dan.identity.static_key_message(<sender's Noise static public key>)``; checking it
    proves that the session key belongs to that identity.
    """

    TYPE_ID: ClassVar[int] = 1
    version: Annotated[int, Wire(0, U16)]
    identity_key: Annotated[bytes, Wire(1, Bytes(32, min_len=32))]
    signature: Annotated[bytes, Wire(2, Bytes(64, min_len=64))]
    capabilities: Annotated[
        tuple[str, ...],
        Wire(3, List(Text(MAX_CAPABILITY_LEN, min_len=1), max_items=MAX_CAPABILITIES)),
    ]


@register
@dataclass(frozen=True)
class Ping(Message):
    """Keepalive probe. The peer answers with a ``Pong`` carrying the same counter."""

    TYPE_ID: ClassVar[int] = 2
    counter: Annotated[int, Wire(0, U64)]


@register
@dataclass(frozen=True)
class Pong(Message):
    """Answer to a ``Ping``; the counter pairs it with the probe it answers."""

    TYPE_ID: ClassVar[int] = 3
    counter: Annotated[int, Wire(0, U64)]


@register
@dataclass(frozen=True)
class Close(Message):
    """The sender ends the session and sends nothing after this. ``code``: see ``CloseCode``."""

    TYPE_ID: ClassVar[int] = 4
    code: Annotated[int, Wire(0, U16)]
    reason: Annotated[str, Wire(1, Text(MAX_REASON_LEN))]


@register
@dataclass(frozen=True)
class Error(Message):
    """One message could not be handled; the session goes on. ``code``: see ``ErrorCode``.

    ``message_type`` is the type id of the message it refers to (0 when unknown).
    """

    TYPE_ID: ClassVar[int] = 5
    code: Annotated[int, Wire(0, U16)]
    message_type: Annotated[int, Wire(1, U16)]
    detail: Annotated[str, Wire(2, Text(MAX_REASON_LEN))]
