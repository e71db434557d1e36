"""``Agent.negotiate(observe=...)``: the mediating agent reports every message of a negotiation,
in order, as it happens, so an app can show the rounds; a negotiation without it is unchanged."""

from __future__ import annotations

from pathlib import Path

from agent_homes import Home, agents, partners, run, strategy

from edge_dan.agent import Move
from edge_dan.agent.networks import LoopbackHub, LoopbackNetwork
from edge_dan.negotiation.domain.outcomes import DiscreteIssue, OutcomeSpace
from edge_dan.wire.messages.negotiation import (
    Answer,
    Bids,
    Concluded,
    Invite,
    NegotiationProtocol,
    Propose,
)
from edge_dan.wire.session import SessionLimits

LIMITS = SessionLimits(handshake_timeout=5.0, keepalive_interval=0.5, dead_peer_intervals=3)
DINNER = OutcomeSpace([DiscreteIssue("dinner", ("pizza", "curry", "salad"))])


def test_the_mediator_sees_every_round_invitation_to_signatures(tmp_path: Path) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)
    moves: list[Move] = []
    bob_id = bob.owner.identity.ensure().public_key

    async def scenario() -> None:
        hub = LoopbackHub()
        async with agents([alice, bob], lambda home: [LoopbackNetwork(hub)], limits=LIMITS):
            await partners(alice, bob)
            result = await alice.agent.negotiate(
                [bob_id], "dinner", DINNER, strategy("alice", DINNER), observe=moves.append
            )
            assert result.accord is not None
            # What the observer saw is what was agreed: the last proposal is the accord's.
            proposed = [m.message for m in moves if isinstance(m.message, Propose)]
            terms = tuple(value for _, value in result.accord.outcome)
            assert DINNER.outcome_at(proposed[-1].outcome) == terms

    run(scenario())
    assert moves and all(m.peer == bob_id for m in moves)
    kinds = [(m.direction, type(m.message)) for m in moves]
    # Invitation out first, then Bob's listings in, a proposal out, his signed yes in, and
    # the signatures out to close.
    assert kinds[0] == ("sent", Invite)
    assert ("received", Bids) in kinds
    assert kinds.index(("sent", Propose)) > kinds.index(("received", Bids))
    answers = [m.message for m in moves if isinstance(m.message, Answer)]
    assert answers and answers[-1].accept and len(answers[-1].signature) == 64
    assert kinds[-1] == ("sent", Concluded)
    assert [m.at for m in moves] == sorted(m.at for m in moves)


def test_alternating_offers_are_observed_too(tmp_path: Path) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)
    moves: list[Move] = []

    async def scenario() -> None:
        hub = LoopbackHub()
        async with agents([alice, bob], lambda home: [LoopbackNetwork(hub)], limits=LIMITS):
            bob_id = await partners(alice, bob)
            result = await alice.agent.negotiate(
                [bob_id],
                "dinner",
                DINNER,
                strategy("alice", DINNER),
                protocol=NegotiationProtocol.ALTERNATING_OFFERS,
                observe=moves.append,
            )
            assert result.accord is not None

    run(scenario())
    assert {m.direction for m in moves} == {"sent", "received"}
    assert isinstance(moves[0].message, Invite)
