"""Property tests on random domains, honest, adversarial and owner-controlled (10,000 in all).

Invariants for every honest party: the run ends (agreed or failed); an accord verifies and never
puts the party below its reservation value or across its red lines; honest parties never end up
with different results; without adversaries, agreement happens exactly when some outcome is
acceptable to everyone.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from negotiation_runner import Endpoint, Owner, RunResult, run

from edge_dan.identity import Identity
from edge_dan.negotiation.domain.outcomes import DiscreteIssue, OutcomeSpace
from edge_dan.negotiation.domain.utility import Evaluator, LinearAdditiveUtility, Profile, RedLine
from edge_dan.negotiation.protocols.core import ApprovalNeeded, Event, Outgoing, Party, State
from edge_dan.negotiation.protocols.mediated import Mediator, Participant
from edge_dan.negotiation.strategy import LittleDan, Mode, Policy
from edge_dan.wire.messages import decode, encode
from edge_dan.wire.messages.negotiation import Bids, Withdraw

IDENTITIES = [Identity.generate() for _ in range(4)]
NID = b"property-test-id"
DEADLINE_MS = 10_000


def fast(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@dataclass
class Scenario:
    space: OutcomeSpace
    profiles: list[Profile]
    levels: int
    max_rounds: int


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A random domain: its shape drawn by hypothesis, its numbers from one drawn seed.

    Drawing each weight and evaluation separately made generation half the test's time; a
    seeded generator keeps 10,000 domains fast and every failure reproducible.
    """
    sizes = draw(st.lists(st.integers(2, 4), min_size=1, max_size=3))
    parties = draw(st.integers(2, 4))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    space = OutcomeSpace(
        [
            DiscreteIssue(f"i{n}", tuple(f"v{k}" for k in range(size)))
            for n, size in enumerate(sizes)
        ]
    )
    outcomes = space.enumerate()
    profiles = []
    for _ in range(parties):
        weights: dict[str, float] = {f"i{n}": rng.randint(1, 9) for n in range(len(sizes))}
        evaluations: dict[str, Evaluator] = {
            f"i{n}": {f"v{k}": float(rng.randint(0, 9)) for k in range(size)}
            for n, size in enumerate(sizes)
        }
        forbidden = rng.sample(outcomes, rng.randint(0, 2))
        lines = (RedLine.forbid(forbidden, "test"),) if forbidden else ()
        profiles.append(
            Profile(
                space,
                LinearAdditiveUtility(space, weights, evaluations),
                reservation_value=rng.choice([0.0, 0.2, 0.4, 0.6, 0.8]),
                red_lines=lines,
            )
        )
    return Scenario(space, profiles, draw(st.integers(1, 12)), draw(st.integers(1, 6)))


class Adversary:
    """A participant that breaks the protocol once, in one of several ways."""

    KINDS = (
        "garbage",
        "out_of_space",
        "repeat",
        "late",
        "withdraw",
        "silent",
        "wrong_id",
        "hardline",  # valid messages, but concedes nothing: lists only its favourite outcome
    )

    def __init__(self, honest: Participant, kind: str, trigger: int) -> None:
        self.honest = honest
        self.kind = kind
        self.trigger = trigger
        self.sent = 0
        self.held: list[Outgoing] = []

    @property
    def public_key(self) -> bytes:
        return self.honest.public_key

    def receive(self, sender: bytes, data: bytes, now_ms: int) -> None:
        self.honest.receive(sender, data, now_ms)

    def tick(self, now_ms: int) -> None:
        self.honest.tick(now_ms)

    def decide(self, approve: bool, now_ms: int) -> None:
        self.honest.decide(approve, now_ms)

    def take_events(self) -> list[Event]:
        return self.honest.take_events()

    def _hardline(self, out: Outgoing) -> Outgoing:
        message = decode(out.data)
        if not isinstance(message, Bids):
            return out
        favourite = self.honest.strategy.concession_levels(1)[0][:1]
        levels = tuple(
            tuple(favourite) if message.round == 1 and position == 0 else ()
            for position in range(len(message.levels))
        )
        bids = Bids(NID, message.round, message.first_level, levels)
        return Outgoing(out.recipient, encode(bids))

    def take_outgoing(self) -> list[Outgoing]:
        result: list[Outgoing] = []
        for out in self.honest.take_outgoing():
            index, self.sent = self.sent, self.sent + 1
            if self.kind == "silent" and index >= self.trigger:
                continue
            if self.kind == "hardline":
                result.append(self._hardline(out))
                continue
            if index != self.trigger:
                result.extend(self.held)
                self.held = []
                result.append(out)
                continue
            message = decode(out.data)
            if self.kind == "garbage":
                result.append(Outgoing(out.recipient, b"\xa1\x00" + out.data[:5]))
            elif self.kind == "out_of_space" and isinstance(message, Bids):
                levels = ((self.honest.space.cardinality,), *message.levels[1:])
                bad = Bids(NID, message.round, message.first_level, levels)
                result.append(Outgoing(out.recipient, encode(bad)))
            elif self.kind == "repeat":
                result.extend([out, out])
            elif self.kind == "late":
                self.held.append(out)  # delivered after the next message, out of turn
            elif self.kind == "withdraw":
                result.append(Outgoing(out.recipient, encode(Withdraw(NID, 0))))
            elif self.kind == "wrong_id":
                data = out.data.replace(NID, b"another-nego-id!")
                result.append(Outgoing(out.recipient, data))
            else:
                result.append(out)
        return result


def negotiate(
    case: Scenario,
    adversary: tuple[int, str, int] | None,
    asks: Sequence[bool] = (),
    owner: Owner | None = None,
) -> tuple[RunResult, list[Party]]:
    ids = IDENTITIES[: len(case.profiles)]
    modes = [Mode.ASK if ask else Mode.AUTO for ask in asks] or [Mode.AUTO] * len(ids)
    mediator = Mediator(
        ids[0],
        LittleDan(case.profiles[0], policy=Policy(mode=modes[0])),
        [i.public_key for i in ids[1:]],
        negotiation_id=NID,
        max_rounds=case.max_rounds,
        levels=case.levels,
        deadline_ms=DEADLINE_MS,
    )
    parties: list[Party] = [mediator]
    endpoints: list[Endpoint] = []
    for position, (identity, profile, mode) in enumerate(
        zip(ids[1:], case.profiles[1:], modes[1:], strict=True), start=1
    ):
        participant = Participant(identity, LittleDan(profile, policy=Policy(mode=mode)))
        parties.append(participant)
        if adversary is not None and adversary[0] == position:
            endpoints.append(Adversary(participant, adversary[1], adversary[2]))
        else:
            endpoints.append(participant)
    if owner is None:
        return run(mediator, endpoints), parties
    return run(mediator, endpoints, owner=owner), parties


def check_honest(
    case: Scenario, result: RunResult, parties: list[Party], cheater: int | None
) -> None:
    outcomes = set()
    for position, party in enumerate(parties):
        if position == cheater:
            continue
        profile = case.profiles[position]
        assert party.state in (State.AGREED, State.FAILED), party.state
        accord = result.accord_of(party.public_key)
        assert (accord is not None) == (party.state is State.AGREED)
        if accord is not None:
            accord.verify()
            outcome = case.space.from_dict(accord.outcome_dict())
            assert profile(outcome) >= profile.reservation_value
            assert profile.crosses_red_line(outcome) is None
            outcomes.add(accord.to_bytes())
        else:
            outcomes.add(b"none")
    assert len(outcomes) == 1, "honest parties ended with different results"


@fast(5000)
@given(scenarios())
def test_honest_parties_agree_iff_possible_and_never_below_reservation(case: Scenario) -> None:
    result, parties = negotiate(case, None)
    check_honest(case, result, parties, None)
    possible = any(all(p.acceptable(o) for p in case.profiles) for o in case.space.iter_outcomes())
    assert (parties[0].state is State.AGREED) == possible


@fast(4000)
@given(
    scenarios(),
    st.integers(1, 3),
    st.sampled_from(Adversary.KINDS),
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
    asks = data.draw(
        st.lists(st.booleans(), min_size=len(case.profiles), max_size=len(case.profiles))
    )
    answers = data.draw(st.lists(st.booleans(), min_size=1, max_size=8))
    approved: dict[bytes, set[tuple[object, ...]]] = {}
    asked = 0

    def owner(party: bytes, request: ApprovalNeeded) -> bool:
        nonlocal asked
        yes = answers[asked % len(answers)]
        asked += 1
        if yes:
            approved.setdefault(party, set()).add(request.outcome)
        return yes

    result, parties = negotiate(case, None, asks, owner)
    check_honest(case, result, parties, None)
    for party, ask in zip(parties, asks, strict=True):
        accord = result.accord_of(party.public_key)
        if accord is not None and ask:
            outcome = case.space.from_dict(accord.outcome_dict())
            assert outcome in approved.get(party.public_key, set())
