"""Run N sans-IO negotiation parties in one process: the negotiation tests' and benches' network.

Not SDK code: only tests (pytest's ``pythonpath`` holds this folder) and ``bench/`` scripts (they
put this folder on ``sys.path``) use it; an agent negotiates over its sessions
(:mod:`edge_dan.agent.negotiations`).

Either protocol: the initiator is a :class:`~edge_dan.negotiation.protocols.mediated.Mediator` or
an :class:`~edge_dan.negotiation.protocols.ao.AoInitiator`. Every party is stepped through the core
contract (:mod:`edge_dan.wire.core`) alone, so a test can put anything that keeps it in a seat.
Messages are delivered first in, first out, as the typed messages a session would deliver; the
clock (seconds) advances ``step`` per delivery and is passed to the parties (they never read time).
When no message is left and some party is still waiting, the clock jumps to the earliest
``next_deadline`` of a party still running and every party gets a ``tick``, so a stalled
negotiation ends by its deadline like it would on a real link. Owners in mode ``ask`` answer
through ``owner``, a callback given the party's key and the :class:`ApprovalNeeded` event.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from edge_dan.negotiation.accords.accord import Accord
from edge_dan.negotiation.protocols.core import Agreed, ApprovalNeeded, Event, Failed
from edge_dan.wire.core import Core, Incoming, Outgoing
from edge_dan.wire.messages import Message, encode

Owner = Callable[[bytes, ApprovalNeeded], bool]


class Endpoint(Core[Incoming, Outgoing, Event], Protocol):
    """What the runner needs of a party (honest or, in tests, adversarial): the core contract,
    its key, and the owner's answer."""

    @property
    def public_key(self) -> bytes: ...

    def decide(self, approve: bool, now: float) -> None: ...


class Initiator(Endpoint, Protocol):
    """The party that starts a negotiation (a ``Mediator`` or an ``AoInitiator``)."""

    @property
    def round(self) -> int: ...

    def start(self, now: float) -> None: ...


@dataclass
class RunResult:
    """What happened, per party key, plus traffic counts."""

    events: dict[bytes, list[Event]] = field(default_factory=dict)
    messages: dict[bytes, int] = field(default_factory=dict)
    bytes_sent: dict[bytes, int] = field(default_factory=dict)
    transcript: list[tuple[bytes, bytes, Message]] = field(default_factory=list)  # from, to, what
    rounds: int = 0
    end: float = 0.0

    def accord_of(self, party: bytes) -> Accord | None:
        """The accord ``party`` reached, if any."""
        for event in self.events.get(party, []):
            if isinstance(event, Agreed):
                return event.accord
        return None

    def failure_of(self, party: bytes) -> Failed | None:
        """Why ``party``'s negotiation failed, if it did."""
        for event in self.events.get(party, []):
            if isinstance(event, Failed):
                return event
        return None

    @property
    def total_messages(self) -> int:
        """Messages sent by all parties."""
        return sum(self.messages.values())

    @property
    def total_bytes(self) -> int:
        """Bytes sent by all parties."""
        return sum(self.bytes_sent.values())


def _always_yes(party: bytes, request: ApprovalNeeded) -> bool:
    del party, request
    return True


def run(
    initiator: Initiator,
    participants: Sequence[Endpoint],
    *,
    start: float = 0.0,
    step: float = 0.001,
    owner: Owner = _always_yes,
    max_deliveries: int = 1_000_000,
) -> RunResult:
    """Start ``initiator`` and deliver messages until nothing is left to deliver.

    ``rounds`` in the result: the mediator's bidding rounds, or the alternating-offers rounds
    begun (a round is one turn per party). ``bytes_sent`` counts each message as encoded for the
    wire (what the session would encrypt).
    """
    parties: dict[bytes, Endpoint] = {initiator.public_key: initiator}
    for participant in participants:
        parties[participant.public_key] = participant
    result = RunResult(
        events={key: [] for key in parties},
        messages=dict.fromkeys(parties, 0),
        bytes_sent=dict.fromkeys(parties, 0),
    )
    queue: deque[tuple[bytes, Outgoing]] = deque()
    now = start

    def collect(key: bytes) -> None:
        party = parties[key]
        for out in party.take_outgoing():
            result.messages[key] += 1
            result.bytes_sent[key] += len(encode(out.message))
            result.transcript.append((key, out.recipient, out.message))
            queue.append((key, out))
        for event in party.take_events():
            result.events[key].append(event)
            if isinstance(event, ApprovalNeeded):
                party.decide(owner(key, event), now)
                collect(key)

    initiator.start(now)
    collect(initiator.public_key)
    deliveries = 0
    while True:
        while queue and deliveries < max_deliveries:
            sender, out = queue.popleft()
            deliveries += 1
            now += step
            if out.recipient in parties:
                parties[out.recipient].receive(Incoming(sender, out.message), now)
                collect(out.recipient)
        deadlines = [
            deadline
            for party in parties.values()
            if not party.finished and (deadline := party.next_deadline()) is not None
        ]
        if not deadlines or deliveries >= max_deliveries:
            break
        now = max(now, min(deadlines))
        for key, party in parties.items():
            party.tick(now)
            collect(key)
    result.rounds = initiator.round
    result.end = now
    return result
