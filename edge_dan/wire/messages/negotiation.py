"""Messages of edge_dan's negotiation protocols (``edge_dan.negotiation.protocols``).

Type ids 512..1023 belong to negotiation: 512..519 here (``Invite`` names the protocol, see
:class:`NegotiationProtocol`), 520..527 the alternating-offers protocol's own messages.
Outcomes travel as their position in the outcome space's enumeration order (a ``U32``), which
both sides compute from the same space: the ``Invite`` carries a digest of the space so that a
peer holding a different space refuses at once. No message has a field that could carry a
utility function, weights or a profile; what each message reveals is documented in the
protocol modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated, ClassVar

from edge_dan.wire.messages.schema import (
    U8,
    U16,
    U32,
    U64,
    Bool,
    Bytes,
    List,
    Message,
    Wire,
    register,
)

NEGOTIATION_ID_LEN = 16
MAX_PARTIES = 16
MAX_LEVELS = 64
MAX_LISTED_PER_MESSAGE = 8192  # outcome indices per Bids message (about 45 KB at most)

_ID = Bytes(NEGOTIATION_ID_LEN, min_len=NEGOTIATION_ID_LEN)
_KEY = Bytes(32, min_len=32)
_SIGNATURE = Bytes(64, min_len=64)


class NegotiationProtocol(IntEnum):
    """Which protocol an ``Invite`` opens (one message set, several protocols)."""

    MEDIATED = 0  # mediated concession (edge_dan.negotiation.protocols.mediated)
    ALTERNATING_OFFERS = 1  # stacked alternating offers (edge_dan.negotiation.protocols.ao)


class WithdrawCode(IntEnum):
    """Why a party (or the mediator, for everyone) ends a negotiation without agreement."""

    WALK_AWAY = 0  # the owner or the strategy chose to leave
    DECLINED = 1  # an invitation was refused
    PROTOCOL_ERROR = 2  # a peer sent something invalid, out of space, repeated or late
    DEADLINE = 3  # the round or time limit passed without agreement
    PEER_WITHDREW = 4  # relayed by the mediator: some other party left
    NO_AGREEMENT = 5  # the mediator found no outcome everyone accepts


@register
@dataclass(frozen=True)
class Invite(Message):
    """Mediator to every other party: the frame of one negotiation.

    ``parties`` lists identity keys, the mediator first; ``deadline_ms`` is an absolute time in
    milliseconds (0: none); ``levels`` is the number of concession levels and
    ``levels_per_round`` the most any round may ask a party to reveal. For the mediated
    protocol the invitation also opens round 1: each party answers with its ``Bids`` for the
    first ``opening_levels`` levels (or a ``Withdraw``), so there is no separate join.
    """

    TYPE_ID: ClassVar[int] = 512
    negotiation_id: Annotated[bytes, Wire(0, _ID)]
    parties: Annotated[tuple[bytes, ...], Wire(1, List(_KEY, max_items=MAX_PARTIES))]
    space_digest: Annotated[bytes, Wire(2, Bytes(32, min_len=32))]
    max_rounds: Annotated[int, Wire(3, U16)]
    deadline_ms: Annotated[int, Wire(4, U64)]
    levels: Annotated[int, Wire(5, U8)]
    levels_per_round: Annotated[int, Wire(6, U8)]
    norms_digest: Annotated[bytes, Wire(7, Bytes(32, min_len=32))]
    protocol: Annotated[int, Wire(8, U8)] = NegotiationProtocol.MEDIATED
    opening_levels: Annotated[int, Wire(9, U8)] = 1


@register
@dataclass(frozen=True)
class Join(Message):
    """A party accepts an invitation (protocols whose invitation is not also a first round)."""

    TYPE_ID: ClassVar[int] = 513
    negotiation_id: Annotated[bytes, Wire(0, _ID)]


@register
@dataclass(frozen=True)
class Bids(Message):
    """The outcomes the sender newly accepts this round, grouped by concession level.

    ``levels[j]`` holds level ``first_level + j``, best first. Only participants send it, to
    the mediator, in answer to the ``Invite`` (round 1) or an ``OpenRound``.
    """

    TYPE_ID: ClassVar[int] = 514
    negotiation_id: Annotated[bytes, Wire(0, _ID)]
    round: Annotated[int, Wire(1, U16)]
    first_level: Annotated[int, Wire(2, U8)]
    levels: Annotated[
        tuple[tuple[int, ...], ...],
        Wire(3, List(List(U32, max_items=MAX_LISTED_PER_MESSAGE), max_items=MAX_LEVELS)),
    ]


@register
@dataclass(frozen=True)
class Propose(Message):
    """Mediator to all: the outcome to commit to, and the time written into the accord.

    It carries no signature of the mediator's: a participant who answered no must not be left
    holding a proposal it could complete alone later (the mediator signs in ``Concluded``).
    """

    TYPE_ID: ClassVar[int] = 515
    negotiation_id: Annotated[bytes, Wire(0, _ID)]
    round: Annotated[int, Wire(1, U16)]
    outcome: Annotated[int, Wire(2, U32)]
    time_ms: Annotated[int, Wire(3, U64)]


@register
@dataclass(frozen=True)
class Answer(Message):
    """A party's final word on a proposal: a yes carries its accord signature, a no none."""

    TYPE_ID: ClassVar[int] = 516
    negotiation_id: Annotated[bytes, Wire(0, _ID)]
    round: Annotated[int, Wire(1, U16)]
    accept: Annotated[bool, Wire(2, Bool())]
    signature: Annotated[bytes, Wire(3, Bytes(64))]


@register
@dataclass(frozen=True)
class Concluded(Message):
    """Mediator to all: every party's accord signature, in party order; the accord binds now."""

    TYPE_ID: ClassVar[int] = 517
    negotiation_id: Annotated[bytes, Wire(0, _ID)]
    signatures: Annotated[tuple[bytes, ...], Wire(1, List(_SIGNATURE, max_items=MAX_PARTIES))]


@register
@dataclass(frozen=True)
class OpenRound(Message):
    """Mediator to all: round ``round`` is open; reveal your next ``levels`` levels.

    ``levels`` is at most the invitation's ``levels_per_round``: a participant refuses a
    mediator that asks for more (it would learn more than the invitation promised).
    """

    TYPE_ID: ClassVar[int] = 519
    negotiation_id: Annotated[bytes, Wire(0, _ID)]
    round: Annotated[int, Wire(1, U16)]
    levels: Annotated[int, Wire(2, U8)]


@register
@dataclass(frozen=True)
class Withdraw(Message):
    """The sender leaves (``code``: see ``WithdrawCode``); from the mediator it ends it for all."""

    TYPE_ID: ClassVar[int] = 518
    negotiation_id: Annotated[bytes, Wire(0, _ID)]
    code: Annotated[int, Wire(1, U16)]
