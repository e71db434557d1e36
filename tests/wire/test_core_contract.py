"""Every protocol core keeps the one contract of ``edge_dan.wire.core``.

The annotated assignments are the real check (mypy verifies each core against the ``Core``
protocol with its own item and event types); the test body checks the shared behaviour: nothing
queued before input, time as float seconds, ``finished`` false at the start.
"""

from __future__ import annotations

from typing import Any

from edge_dan.identity import Identity
from edge_dan.negotiation.domain.outcomes import DiscreteIssue, OutcomeSpace
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility, Profile
from edge_dan.negotiation.protocols.ao import AoInitiator, AoResponder
from edge_dan.negotiation.protocols.core import Event as NegotiationEvent
from edge_dan.negotiation.protocols.mediated import Mediator, Participant
from edge_dan.negotiation.strategy import LittleDan
from edge_dan.pairing.numeric import Event as PairingEvent
from edge_dan.pairing.numeric import NumericComparison
from edge_dan.transports.driver import OnePeer
from edge_dan.wire.core import Core, Incoming, Outgoing
from edge_dan.wire.messages import Message
from edge_dan.wire.session import Event as SessionEvent
from edge_dan.wire.session import Role, Session

ALICE, BOB = Identity.generate(), Identity.generate()
SPACE = OutcomeSpace([DiscreteIssue("dinner", ("pizza", "curry"))])
PROFILE = Profile(
    SPACE, LinearAdditiveUtility(SPACE, {"dinner": 1.0}, {"dinner": {"pizza": 1, "curry": 0}})
)


def test_every_core_keeps_the_one_contract() -> None:
    numeric = NumericComparison(
        initiator=False,
        handshake_hash=bytes(64),
        initiator_static=bytes(32),
        responder_static=bytes(range(32)),
    )
    session: Core[bytes, bytes, SessionEvent] = Session(Role.RESPONDER, BOB, now=0.0)
    pairing: Core[Message, Message, PairingEvent] = numeric
    addressed: Core[Incoming, Outgoing, PairingEvent] = OnePeer(numeric, ALICE.public_key)
    nid = bytes(16)
    negotiation: list[Core[Incoming, Outgoing, NegotiationEvent]] = [
        Mediator(ALICE, LittleDan(PROFILE), [BOB.public_key], negotiation_id=nid),
        Participant(BOB, LittleDan(PROFILE)),
        AoInitiator(ALICE, LittleDan(PROFILE), [BOB.public_key], negotiation_id=nid),
        AoResponder(BOB, LittleDan(PROFILE)),
    ]
    cores: list[Core[Any, Any, Any]] = [session, pairing, addressed, *negotiation]
    for core in cores:
        assert not core.finished
        core.tick(0.5)  # float seconds, whatever the core's wire fields hold
        assert list(core.take_outgoing()) == []
        assert list(core.take_events()) == []
        deadline = core.next_deadline()
        assert deadline is None or isinstance(deadline, float)
