"""The negotiation protocol over real Noise sessions on the in-memory link.

The mediator holds one session per participant; every negotiation message travels encrypted,
and the sender's identity a party acts on is the one its session's handshake proved, never
anything the message itself claims.
"""

from __future__ import annotations

from collections import deque

from edge_dan.identity import Identity
from edge_dan.negotiation.domain.outcomes import DiscreteIssue, IntegerIssue, OutcomeSpace, Value
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility, Profile
from edge_dan.negotiation.protocols.core import Failed, Party, State
from edge_dan.negotiation.protocols.mediated import Mediator, Participant
from edge_dan.negotiation.strategy import LittleDan
from edge_dan.transports.memory import A_TO_B, Fault, FaultInjector, MemoryLink
from edge_dan.wire.core import Incoming
from edge_dan.wire.messages import Message
from edge_dan.wire.messages.negotiation import WithdrawCode
from edge_dan.wire.session import MessageReceived, Role, Session
from edge_dan.wire.session import State as SessionState

SPACE = OutcomeSpace(
    [DiscreteIssue("place", ("home", "park", "cafe")), IntegerIssue("hour", 17, 22)]
)
NID = b"over-the-session"


def profile(places: dict[Value, float], hour_weight: float, late: bool) -> Profile:
    hours: dict[Value, float] = {h: float(h - 16 if late else 23 - h) for h in range(17, 23)}
    utility = LinearAdditiveUtility(
        SPACE, {"place": 1 - hour_weight, "hour": hour_weight}, {"place": places, "hour": hours}
    )
    return Profile(SPACE, utility)


PROFILES = [
    profile({"home": 3, "park": 2, "cafe": 1}, 0.3, late=True),
    profile({"home": 1, "park": 3, "cafe": 2}, 0.6, late=False),
    profile({"home": 2, "park": 1, "cafe": 3}, 0.5, late=True),
]


def negotiate(
    faults: dict[int, FaultInjector] | None = None,
) -> tuple[Mediator, list[Participant], list[MemoryLink]]:
    ids = [Identity.generate() for _ in PROFILES]
    mediator = Mediator(
        ids[0],
        LittleDan(PROFILES[0]),
        [i.public_key for i in ids[1:]],
        negotiation_id=NID,
        deadline=60.0,
    )
    participants = [
        Participant(i, LittleDan(p)) for i, p in zip(ids[1:], PROFILES[1:], strict=True)
    ]
    links = [
        MemoryLink(
            Session(Role.INITIATOR, ids[0], now=0.0),
            Session(Role.RESPONDER, identity, now=0.0, expected_peer_identity=ids[0].public_key),
            faults=(faults or {}).get(position),
        )
        for position, identity in enumerate(ids[1:])
    ]
    for link in links:
        link.pump()
        assert link.a.state is SessionState.ESTABLISHED
    by_key: dict[bytes, MemoryLink] = {
        p.public_key: link for p, link in zip(participants, links, strict=True)
    }
    parties: list[Party] = [mediator, *participants]
    now = 0.0
    queue: deque[tuple[Party, bytes, Message]] = deque()

    def collect(party: Party) -> None:
        for out in party.take_outgoing():
            queue.append((party, out.recipient, out.message))

    def deliver_events(link: MemoryLink) -> None:
        # Session a is the mediator's end, session b the participant's.
        participant = next(p for p in participants if by_key[p.public_key] is link)
        for events, receiver, session in (
            (link.events_a, mediator, link.a),
            (link.events_b, participant, link.b),
        ):
            while events:
                event = events.pop(0)
                if isinstance(event, MessageReceived) and session.peer is not None:
                    sender = session.peer.peer_identity_key  # proved by the handshake
                    receiver.receive(Incoming(sender, event.message), now)
                    collect(receiver)

    mediator.start(now)
    collect(mediator)
    while queue:
        sender, recipient, message = queue.popleft()
        now += 0.001
        if sender is mediator:
            link = by_key[recipient]
            session = link.a
        else:
            link = by_key[sender.public_key]
            session = link.b
        if session.state is SessionState.ESTABLISHED:
            session.send(message)
            link.pump()
        deliver_events(link)
    if any(not p.state.terminal for p in parties):
        for party in parties:
            party.tick(60.0)
    return mediator, participants, links


def test_three_parties_agree_over_encrypted_sessions() -> None:
    mediator, participants, links = negotiate()
    assert mediator.state is State.AGREED
    assert mediator.accord is not None
    mediator.accord.verify()
    assert all(p.accord == mediator.accord for p in participants)
    # Everything went through the sessions: frames flowed both ways on every link.
    assert all(link.frames_sent[A_TO_B] > 3 for link in links)


def test_a_corrupted_frame_ends_the_negotiation_cleanly_for_everyone() -> None:
    # Frame 5 from the mediator to the first participant is corrupted: its session fails, the
    # negotiation stalls, and the deadline ends it for every party, with nothing signed.
    mediator, participants, _ = negotiate({0: FaultInjector({(A_TO_B, 5): Fault.CORRUPT})})
    for party in (mediator, *participants):
        assert party.state is State.FAILED
        assert party.accord is None
    failures = [e for e in mediator.take_events() if isinstance(e, Failed)]
    assert [f.code for f in failures] == [WithdrawCode.DEADLINE]
