"""Messages of pairing (type ids 256..511): numeric comparison and the short-code exchange.

They travel inside an established Noise session (transport messages), never in the clear: the
nonces they carry feed the pairing's advertisement key. The order is fixed (``edge_dan.pairing``)::

    initiator                         responder
    PairCommit(C = commit(Na))  -->
                                <--   PairNonce(Nb)
    PairReveal(Na)              -->
    (both show the 6-digit code; each owner answers)
    PairConfirm(yes/no)         <->   PairConfirm(yes/no)

Either side may send ``PairAbort`` at any point and then sends nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated, ClassVar

from edge_dan.wire.messages.schema import U16, Bool, Bytes, Message, Text, Wire, register

NONCE_LEN = 32  # 256-bit nonces; the commitment needs at least 128 bits of them
COMMITMENT_LEN = 32
SPAKE2_MESSAGE_LEN = 33  # spake2's Ed25519 group: one side byte + a 32-byte element
MAX_ABORT_REASON_LEN = 120


class AbortCode(IntEnum):
    """Why a pairing was aborted. Receivers must accept codes they do not know (as ``int``)."""

    PROTOCOL = 1  # a message out of order, duplicated, or from the wrong role
    COMMITMENT = 2  # the revealed nonce did not open the commitment
    REJECTED = 3  # the owner declined or said the codes differ
    TIMEOUT = 4
    CANCELLED = 5  # the owner cancelled


@register
@dataclass(frozen=True)
class PairCommit(Message):
    """Initiator's first pairing message: a commitment to its nonce Na, sent before seeing Nb."""

    TYPE_ID: ClassVar[int] = 0x0100
    commitment: Annotated[bytes, Wire(0, Bytes(COMMITMENT_LEN, min_len=COMMITMENT_LEN))]


@register
@dataclass(frozen=True)
class PairNonce(Message):
    """Responder's nonce Nb, sent only after it holds the initiator's commitment."""

    TYPE_ID: ClassVar[int] = 0x0101
    nonce: Annotated[bytes, Wire(0, Bytes(NONCE_LEN, min_len=NONCE_LEN))]


@register
@dataclass(frozen=True)
class PairReveal(Message):
    """Initiator opens its commitment by revealing Na, after receiving Nb."""

    TYPE_ID: ClassVar[int] = 0x0102
    nonce: Annotated[bytes, Wire(0, Bytes(NONCE_LEN, min_len=NONCE_LEN))]


@register
@dataclass(frozen=True)
class PairConfirm(Message):
    """The owner's answer on the sender's side: True when the codes match and they accept."""

    TYPE_ID: ClassVar[int] = 0x0103
    accepted: Annotated[bool, Wire(0, Bool())]


@register
@dataclass(frozen=True)
class PairAbort(Message):
    """The sender gives up on this pairing and sends nothing more. ``code``: see ``AbortCode``."""

    TYPE_ID: ClassVar[int] = 0x0104
    code: Annotated[int, Wire(0, U16)]
    reason: Annotated[str, Wire(1, Text(MAX_ABORT_REASON_LEN))]


@register
@dataclass(frozen=True)
class PairSpake(Message):
    """One SPAKE2 message of short-code pairing; each side sends one before the XXpsk3 handshake."""

    TYPE_ID: ClassVar[int] = 0x0105
    message: Annotated[bytes, Wire(0, Bytes(SPAKE2_MESSAGE_LEN, min_len=SPAKE2_MESSAGE_LEN))]
