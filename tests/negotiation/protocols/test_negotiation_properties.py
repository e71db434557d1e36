"""Property tests of the mediated protocol on random domains, honest, adversarial and
owner-controlled (10,000 in all; the harness, shared with alternating offers, is
``property_harness``).

Invariants for every honest party: the run ends (agreed or failed); an accord verifies and never
puts the party below its reservation value or across its red lines; honest parties never end up
with different results; without adversaries, agreement happens exactly when some outcome is
acceptable to everyone.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st
from negotiation_runner import RunResult
from property_harness import (
    DEADLINE,
    IDENTITIES,
    NID,
    Adversary,
    Owner,
    Scenario,
    fast,
    honest_endings,
    play,
    scenarios,
    strategies,
)

from edge_dan.negotiation.protocols.core import Party, State
from edge_dan.negotiation.protocols.mediated import Mediator, Participant
from edge_dan.wire.core import Outgoing
from edge_dan.wire.messages.negotiation import Bids
from edge_dan.wire.messages.schema import Message


class ParticipantAdversary(Adversary[Participant]):
    """A participant that breaks the protocol once, in one of several ways.

    A hard-liner sends valid messages, but concedes nothing: it lists only its favourite outcome.
    """

    def _forge(self, out: Outgoing) -> Message | None:
        message = out.message
        if self.kind == "out_of_space" and isinstance(message, Bids):
            levels = ((self.honest.space.cardinality,), *message.levels[1:])
            return Bids(NID, message.round, message.first_level, levels)
        return None

    def _hardline(self, out: Outgoing) -> Outgoing:
        message = out.message
        if not isinstance(message, Bids):
            return out
        favourite = self.honest.strategy.concession_levels(1)[0][:1]
        levels = tuple(
            tuple(favourite) if message.round == 1 and position == 0 else ()
            for position in range(len(message.levels))
        )
        bids = Bids(NID, message.round, message.first_level, levels)
        return Outgoing(out.recipient, bids)


def negotiate(
    case: Scenario,
    adversary: tuple[int, str, int] | None,
    asks: Sequence[bool] = (),
    owner: Owner | None = None,
) -> tuple[RunResult, list[Party]]:
    ids = IDENTITIES[: len(case.profiles)]
    dans = strategies(case, asks)
    mediator = Mediator(
        ids[0],
        dans[0],
        [i.public_key for i in ids[1:]],
        negotiation_id=NID,
        max_rounds=case.max_rounds,
        levels=case.levels,
        deadline=DEADLINE,
    )
    participants = [Participant(i, dan) for i, dan in zip(ids[1:], dans[1:], strict=True)]
    cheat = None if adversary is None else (ParticipantAdversary, *adversary)
    return play(mediator, participants, cheat, owner), [mediator, *participants]


def check_honest(
    case: Scenario, result: RunResult, parties: list[Party], cheater: int | None
) -> None:
    endings = honest_endings(case, result, parties, cheater)
    assert len(endings) == 1, "honest parties ended with different results"


@fast(5000)
@given(scenarios())
def test_honest_parties_agree_iff_possible_and_never_below_reservation(case: Scenario) -> None:
    result, parties = negotiate(case, None)
    check_honest(case, result, parties, None)
    assert (parties[0].state is State.AGREED) == case.possible()


@fast(4000)
@given(
    scenarios(),
    st.integers(1, 3),
    st.sampled_from(ParticipantAdversary.KINDS),
    st.integers(0, 4),
)
def test_adversarial_peer_never_harms_honest_parties(
    case: Scenario, seat: int, kind: str, trigger: int
) -> None:
    cheater = min(seat, len(case.profiles) - 1)
    result, parties = negotiate(case, (cheater, kind, trigger))
    check_honest(case, result, parties, cheater)


@fast(1000)
@given(scenarios(), st.data())
def test_owners_in_ask_mode_are_never_committed_without_their_yes(
    case: Scenario, data: st.DataObject
) -> None:
    asks, owner = Owner.draw(data, case)
    result, parties = negotiate(case, None, asks, owner)
    check_honest(case, result, parties, None)
    for party, ask in zip(parties, asks, strict=True):
        accord = result.accord_of(party.public_key)
        if accord is not None and ask:
            outcome = case.space.from_dict(accord.terms)
            assert outcome in owner.approved.get(party.public_key, set())
