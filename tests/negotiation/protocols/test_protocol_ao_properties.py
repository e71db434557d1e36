"""Property tests of the alternating-offers protocol on random domains (6,600 runs, ~30 s).

The random domains are the mediated protocol's (``test_negotiation_properties.scenarios``).
Invariants for every honest party: the run ends (agreed or failed); an accord verifies and never
puts the party below its reservation value or across a red line, and neither does any signature
it gave along the way (instrumented at the commit point); honest parties never hold different
accords, and without adversaries they all end the same way; an owner in mode ``ask`` is never
committed to an outcome it did not approve.

With an adversary, honest parties can end differently (some agreed, some failed): whoever sends
the last signature, or the move before it, can withhold it from some parties (the fair-exchange
problem the protocol doc describes). They never end with two different accords.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st
from negotiation_runner import Endpoint, Owner, RunResult, run
from test_negotiation_properties import Scenario, fast, scenarios

from edge_dan.identity import Identity
from edge_dan.negotiation.accords.accord import Accord
from edge_dan.negotiation.protocols.ao import AoInitiator, AoParty, AoResponder
from edge_dan.negotiation.protocols.core import ApprovalNeeded, Event, Outgoing, State
from edge_dan.negotiation.strategy import LittleDan, Mode, Policy
from edge_dan.wire.messages import decode, encode
from edge_dan.wire.messages.negotiation import Withdraw
from edge_dan.wire.messages.negotiation_ao import Accept, Offer

IDENTITIES = [Identity.generate() for _ in range(4)]
NID = b"property-test-id"
DEADLINE_MS = 10_000


class Recording(AoParty):
    """A real party that also remembers every outcome it signed (the commit point)."""

    signed: list[int]

    def _sign_or_refuse(self, outcome_index: int, time_ms: int) -> bytes | None:
        signature = super()._sign_or_refuse(outcome_index, time_ms)
        if signature is not None:
            self.signed.append(outcome_index)
        return signature


class RecordingInitiator(Recording, AoInitiator):
    pass


class RecordingResponder(Recording, AoResponder):
    pass


class Adversary:
    """A responder that breaks the protocol, in one of several ways, from one message on."""

    KINDS = (
        "garbage",
        "out_of_space",
        "repeat",
        "late",
        "withdraw",
        "silent",
        "wrong_id",
        "hardline",  # valid moves, but never accepts and only ever offers its favourite
        "random",  # a well-formed move with random turn, outcome and signature bytes
        "forged_accept",  # accepts with a signature over another outcome
        "equivocate",  # different offers to different parties on the same turn
    )

    def __init__(self, honest: AoResponder, kind: str, trigger: int) -> None:
        self.honest = honest
        self.kind = kind
        self.trigger = trigger
        self.sent = 0
        self.held: list[Outgoing] = []
        self.rng = random.Random(trigger)
        self.favourite = int(honest.strategy.profile.utilities().argmax())

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

    def _rewrite(self, out: Outgoing) -> list[Outgoing]:
        message = decode(out.data)
        turn = getattr(message, "turn", self.honest.turn)
        cardinality = self.honest.space.cardinality
        replaced: object
        if self.kind == "garbage":
            return [Outgoing(out.recipient, b"\xa1\x00" + out.data[:5])]
        if self.kind == "out_of_space":
            replaced = Offer(NID, turn, cardinality, 0)
        elif self.kind == "repeat":
            return [out, out]
        elif self.kind == "late":
            self.held.append(out)  # delivered after the next message, out of order
            return []
        elif self.kind == "withdraw":
            replaced = Withdraw(NID, 0)
        elif self.kind == "wrong_id":
            return [Outgoing(out.recipient, out.data.replace(NID, b"another-nego-id!"))]
        elif self.kind == "random":
            if self.rng.random() < 0.5:
                replaced = Offer(
                    NID, turn + self.rng.randint(-2, 2) % 8, self.rng.randrange(cardinality + 2), 0
                )
            else:
                replaced = Accept(
                    NID, max(0, turn + self.rng.randint(-2, 2)), self.rng.randbytes(64)
                )
        elif self.kind == "forged_accept":
            other = (self.rng.randrange(cardinality) + 1) % cardinality
            accord = Accord.of(
                NID, self.honest.parties, self.honest.space, self.honest.space.outcome_at(other), 0
            )
            replaced = Accept(NID, turn, accord.sign(self.honest.identity))
        elif self.kind == "equivocate" and isinstance(message, Offer):
            position = self.honest.parties.index(out.recipient)
            replaced = Offer(NID, turn, (message.outcome + position) % cardinality, message.time_ms)
        else:
            return [out]
        return [Outgoing(out.recipient, encode(replaced))]

    def take_outgoing(self) -> list[Outgoing]:
        result: list[Outgoing] = []
        for out in self.honest.take_outgoing():
            index, self.sent = self.sent, self.sent + 1
            if self.kind == "silent" and index >= self.trigger:
                continue
            if self.kind == "hardline":
                result.append(self._hardline(out))
                continue
            if self.kind == "equivocate" and index >= self.trigger:
                result.extend(self._rewrite(out))
                continue
            if index != self.trigger:
                result.extend(self.held)
                self.held = []
                result.append(out)
                continue
            result.extend(self._rewrite(out))
        return result

    def _hardline(self, out: Outgoing) -> Outgoing:
        message = decode(out.data)
        if isinstance(message, Offer | Accept):
            return Outgoing(out.recipient, encode(Offer(NID, message.turn, self.favourite, 0)))
        return out


def negotiate(
    case: Scenario,
    adversary: tuple[int, str, int] | None,
    asks: Sequence[bool] = (),
    owner: Owner | None = None,
) -> tuple[RunResult, list[Recording]]:
    ids = IDENTITIES[: len(case.profiles)]
    modes = [Mode.ASK if ask else Mode.AUTO for ask in asks] or [Mode.AUTO] * len(ids)
    initiator = RecordingInitiator(
        ids[0],
        LittleDan(case.profiles[0], policy=Policy(mode=modes[0])),
        [i.public_key for i in ids[1:]],
        negotiation_id=NID,
        max_rounds=case.max_rounds + 1,  # the drawn 1..6 as 2..7: agreement takes two rounds
        deadline_ms=DEADLINE_MS,
    )
    initiator.signed = []
    parties: list[Recording] = [initiator]
    endpoints: list[Endpoint] = []
    for position, (identity, profile, mode) in enumerate(
        zip(ids[1:], case.profiles[1:], modes[1:], strict=True), start=1
    ):
        responder = RecordingResponder(identity, LittleDan(profile, policy=Policy(mode=mode)))
        responder.signed = []
        parties.append(responder)
        if adversary is not None and adversary[0] == position:
            endpoints.append(Adversary(responder, adversary[1], adversary[2]))
        else:
            endpoints.append(responder)
    if owner is None:
        return run(initiator, endpoints), parties
    return run(initiator, endpoints, owner=owner), parties


def check_honest(
    case: Scenario, result: RunResult, parties: list[Recording], cheater: int | None
) -> None:
    accords = set()
    endings = set()
    for position, party in enumerate(parties):
        if position == cheater:
            continue
        profile = case.profiles[position]
        assert party.state in (State.AGREED, State.FAILED), party.state
        for index in party.signed:
            signed = case.space.outcome_at(index)
            assert profile(signed) >= profile.reservation_value
            assert profile.crosses_red_line(signed) is None
        accord = result.accord_of(party.public_key)
        assert (accord is not None) == (party.state is State.AGREED)
        if accord is not None:
            accord.verify()
            outcome = case.space.from_dict(accord.outcome_dict())
            assert profile(outcome) >= profile.reservation_value
            assert profile.crosses_red_line(outcome) is None
            accords.add(accord.to_bytes())
        endings.add(b"none" if accord is None else accord.to_bytes())
    assert len(accords) <= 1, "honest parties hold different accords"
    if cheater is None:
        assert len(endings) == 1, "honest parties ended differently"


@fast(3000)
@given(scenarios())
def test_honest_parties_end_alike_and_never_below_reservation(case: Scenario) -> None:
    result, parties = negotiate(case, None)
    check_honest(case, result, parties, None)
    if parties[0].state is State.AGREED:
        assert any(all(p.acceptable(o) for p in case.profiles) for o in case.space.iter_outcomes())


@fast(3000)
@given(scenarios(), st.integers(1, 3), st.sampled_from(Adversary.KINDS), st.integers(0, 8))
def test_adversarial_peer_never_harms_honest_parties(
    case: Scenario, seat: int, kind: str, trigger: int
) -> None:
    cheater = min(seat, len(case.profiles) - 1)
    result, parties = negotiate(case, (cheater, kind, trigger))
    check_honest(case, result, parties, cheater)


@fast(600)
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
        if ask:  # every signature it gave, not only the final accord, had the owner's yes
            yes = approved.get(party.public_key, set())
            assert all(case.space.outcome_at(i) in yes for i in party.signed)
