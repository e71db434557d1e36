"""Messages of the stacked alternating-offers protocol (``edge_dan.negotiation.protocols.ao``).

Type ids 520..527 (the negotiation range 512..1023, next to the shared ``Invite``, ``Join`` and
``Withdraw`` in :mod:`edge_dan.wire.messages.negotiation`). A party moves once per *turn*; turn
``t`` belongs to the invitation's party ``t mod n``, so the turn number in every message lets
each receiver check that the sender was the one to move, and refuse repeats and strays. An
outcome travels as its index in the shared space's enumeration order (``U32``). No field can
carry a utility, a weight or a profile; what each message reveals is documented in the protocol
module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from edge_dan.wire.messages.negotiation import NEGOTIATION_ID_LEN
from edge_dan.wire.messages.schema import U32, U64, Bytes, Message, Wire, register

_ID = Bytes(NEGOTIATION_ID_LEN, min_len=NEGOTIATION_ID_LEN)
_SIGNATURE = Bytes(64, min_len=64)


@register
@dataclass(frozen=True)
class Offer(Message):
    """The mover to every other party: on turn ``turn``, ``outcome`` is my offer.

    ``time_ms`` is the offerer's clock, written into the accord if the offer is agreed. An offer
    carries no signature: the offerer signs last, by accepting its own offer once every other
    party has (so a rejected offer leaves no signature behind that someone could complete).
    """

    TYPE_ID: ClassVar[int] = 520
    negotiation_id: Annotated[bytes, Wire(0, _ID)]
    turn: Annotated[int, Wire(1, U32)]
    outcome: Annotated[int, Wire(2, U32)]
    time_ms: Annotated[int, Wire(3, U64)]


@register
@dataclass(frozen=True)
class Accept(Message):
    """The mover to every other party: on turn ``turn``, I accept the standing offer.

    ``signature`` is the sender's Ed25519 signature over the accord of the standing offer
    (``Accord.of(negotiation_id, parties, space, outcome, time_ms)``), so the accord binds as
    soon as the last party, the offerer, has accepted.
    """

    TYPE_ID: ClassVar[int] = 521
    negotiation_id: Annotated[bytes, Wire(0, _ID)]
    turn: Annotated[int, Wire(1, U32)]
    signature: Annotated[bytes, Wire(2, _SIGNATURE)]
