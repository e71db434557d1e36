"""The property-test harness both protocols share (their test modules hold only what differs).

- :func:`scenarios`: random domains, 2 to 4 parties with red lines and reservation values;
- :class:`Adversary`: a seat that breaks the protocol from one of its messages (or, for some
  kinds, from that one on); the ways every protocol can be broken are here, each protocol's test
  module adds its own (a hard-liner, forged content);
- :func:`strategies` and :class:`Owner`: Little Dan for every seat, in mode ``ask`` where drawn,
  and an owner answering yes or no from a drawn list;
- :func:`play` runs a negotiation with the adversary in its seat; :func:`honest_endings` checks
  what every honest party must hold however it ended.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from negotiation_runner import Endpoint, Initiator, RunResult, run

from edge_dan.identity import Identity
from edge_dan.negotiation.domain.outcomes import DiscreteIssue, Outcome, OutcomeSpace
from edge_dan.negotiation.domain.utility import Evaluator, LinearAdditiveUtility, Profile, RedLine
from edge_dan.negotiation.protocols.core import ApprovalNeeded, Event, Party, State
from edge_dan.negotiation.strategy import LittleDan, Mode, Policy
from edge_dan.wire.core import Incoming, Outgoing
from edge_dan.wire.messages.negotiation import Withdraw
from edge_dan.wire.messages.pairing import PairConfirm
from edge_dan.wire.messages.schema import Message

IDENTITIES = [Identity.generate() for _ in range(4)]
NID = b"property-test-id"
DEADLINE = 10.0  # seconds


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

    def possible(self) -> bool:
        """Whether some outcome is acceptable to every party."""
        return any(all(p.acceptable(o) for p in self.profiles) for o in self.space.iter_outcomes())


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


P = TypeVar("P", bound=Party)


class Adversary(Generic[P]):
    """An honest party's seat taken over: from its ``trigger``-th message on, it cheats.

    ``silent`` drops that message and every later one; ``hardline`` rewrites every message
    (:meth:`_hardline`); the kinds in ``ONGOING`` rewrite that message and every later one, the
    others only that one (:meth:`_rewrite`). Protocol-specific kinds are :meth:`_forge`'s.
    """

    KINDS: ClassVar[tuple[str, ...]] = (
        "garbage",
        "out_of_space",
        "repeat",
        "late",
        "withdraw",
        "silent",
        "wrong_id",
        "hardline",
    )
    ONGOING: ClassVar[tuple[str, ...]] = ()

    def __init__(self, honest: P, kind: str, trigger: int) -> None:
        self.honest = honest
        self.kind = kind
        self.trigger = trigger
        self.sent = 0
        self.held: list[Outgoing] = []

    @property
    def public_key(self) -> bytes:
        return self.honest.public_key

    @property
    def finished(self) -> bool:
        return self.honest.finished

    def next_deadline(self) -> float | None:
        return self.honest.next_deadline()

    def receive(self, item: Incoming, now: float) -> None:
        self.honest.receive(item, now)

    def tick(self, now: float) -> None:
        self.honest.tick(now)

    def decide(self, approve: bool, now: float) -> None:
        self.honest.decide(approve, now)

    def take_events(self) -> list[Event]:
        return self.honest.take_events()

    def take_outgoing(self) -> list[Outgoing]:
        result: list[Outgoing] = []
        for out in self.honest.take_outgoing():
            index, self.sent = self.sent, self.sent + 1
            if self.kind == "silent" and index >= self.trigger:
                continue
            if self.kind == "hardline":
                result.append(self._hardline(out))
                continue
            if index == self.trigger or (self.kind in self.ONGOING and index > self.trigger):
                result.extend(self._rewrite(out))
                continue
            result.extend(self.held)
            self.held = []
            result.append(out)
        return result

    def _rewrite(self, out: Outgoing) -> list[Outgoing]:
        """What goes out instead of ``out``, the message the adversary cheats on."""
        if self.kind == "garbage":  # well-formed on the wire, nonsense to a negotiation
            return [Outgoing(out.recipient, PairConfirm(True))]
        if self.kind == "repeat":
            return [out, out]
        if self.kind == "late":
            self.held.append(out)  # delivered after the next message, out of turn
            return []
        if self.kind == "withdraw":
            return [Outgoing(out.recipient, Withdraw(NID, 0))]
        if self.kind == "wrong_id":
            other = dataclasses.replace(out.message, **{"negotiation_id": b"another-nego-id!"})
            return [Outgoing(out.recipient, other)]
        forged = self._forge(out)
        return [out if forged is None else Outgoing(out.recipient, forged)]

    def _forge(self, out: Outgoing) -> Message | None:
        """A well-formed message replacing ``out`` for the protocol's own kinds (None: send it)."""
        raise NotImplementedError

    def _hardline(self, out: Outgoing) -> Outgoing:
        """``out`` as a party would send it that concedes nothing."""
        raise NotImplementedError


def strategies(case: Scenario, asks: Sequence[bool] = ()) -> list[LittleDan]:
    """Little Dan for every party: mode ``ask`` where ``asks`` is true, ``auto`` elsewhere."""
    modes = [Mode.ASK if ask else Mode.AUTO for ask in asks] or [Mode.AUTO] * len(case.profiles)
    return [
        LittleDan(profile, policy=Policy(mode=mode))
        for profile, mode in zip(case.profiles, modes, strict=True)
    ]


@dataclass
class Owner:
    """Owners in mode ``ask``: yes or no from ``answers`` in turn; every yes is remembered."""

    answers: list[bool]
    asked: int = 0
    approved: dict[bytes, set[Outcome]] = field(default_factory=dict)

    @classmethod
    def draw(cls, data: st.DataObject, case: Scenario) -> tuple[list[bool], Owner]:
        """Which parties ask their owner, and the owners' answers."""
        parties = len(case.profiles)
        asks = data.draw(st.lists(st.booleans(), min_size=parties, max_size=parties))
        return asks, cls(data.draw(st.lists(st.booleans(), min_size=1, max_size=8)))

    def __call__(self, party: bytes, request: ApprovalNeeded) -> bool:
        yes = self.answers[self.asked % len(self.answers)]
        self.asked += 1
        if yes:
            self.approved.setdefault(party, set()).add(request.outcome)
        return yes


def play(
    initiator: Initiator,
    others: Sequence[P],
    adversary: tuple[type[Adversary[P]], int, str, int] | None,
    owner: Owner | None,
) -> RunResult:
    """Run ``initiator`` with ``others``; ``adversary``: (its class, seat, kind, trigger)."""
    endpoints: list[Endpoint] = list(others)
    if adversary is not None:
        cheat, seat, kind, trigger = adversary
        endpoints[seat - 1] = cheat(others[seat - 1], kind, trigger)
    if owner is None:
        return run(initiator, endpoints)
    return run(initiator, endpoints, owner=owner)


def assert_unharmed(profile: Profile, outcome: Outcome) -> None:
    assert profile(outcome) >= profile.reservation_value
    assert profile.crosses_red_line(outcome) is None


def honest_endings(
    case: Scenario, result: RunResult, parties: Sequence[Party], cheater: int | None
) -> set[bytes]:
    """Every honest party ended; an accord it holds verifies and harms it nowhere.

    Returns the honest parties' endings: their accords' bytes, ``b"none"`` for no accord.
    """
    endings = set()
    for position, party in enumerate(parties):
        if position == cheater:
            continue
        assert party.state in (State.AGREED, State.FAILED), party.state
        accord = result.accord_of(party.public_key)
        assert (accord is not None) == (party.state is State.AGREED)
        if accord is not None:
            accord.verify()
            assert_unharmed(case.profiles[position], case.space.from_dict(accord.terms))
        endings.add(b"none" if accord is None else accord.to_bytes())
    return endings
