"""Run an alternating-offers negotiation (:mod:`.protocol_ao`) in one process.

The same delivery model as :func:`.runner.run` (first in, first out; the clock advances
``step_ms`` per delivery; a stalled negotiation jumps to its deadline and every party gets a
``tick``; owners in mode ``ask`` answer through ``owner``) and the same :class:`.runner.RunResult`,
for an :class:`~.protocol_ao.AoInitiator` instead of a mediator. ``RunResult.rounds`` counts the
rounds begun (a round is one turn per party).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from edge_dan.negotiation.protocol_ao import AoInitiator
from edge_dan.negotiation.protocol_core import ApprovalNeeded, Outgoing, Party
from edge_dan.negotiation.runner import Endpoint, Owner, RunResult


def _always_yes(party: bytes, request: ApprovalNeeded) -> bool:
    del party, request
    return True


def run_ao(
    initiator: AoInitiator,
    responders: Sequence[Endpoint],
    *,
    start_ms: int = 0,
    step_ms: int = 1,
    owner: Owner = _always_yes,
    max_deliveries: int = 1_000_000,
) -> RunResult:
    """Start ``initiator`` and deliver messages until nothing is left to deliver."""
    parties: dict[bytes, Endpoint] = {initiator.public_key: initiator}
    for responder in responders:
        parties[responder.public_key] = responder
    result = RunResult(
        events={key: [] for key in parties},
        messages=dict.fromkeys(parties, 0),
        bytes_sent=dict.fromkeys(parties, 0),
    )
    queue: deque[tuple[bytes, Outgoing]] = deque()
    now = start_ms

    def collect(key: bytes) -> None:
        party = parties[key]
        for out in party.take_outgoing():
            result.messages[key] += 1
            result.bytes_sent[key] += len(out.data)
            result.transcript.append((key, out.recipient, out.data))
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
            now += step_ms
            if out.recipient in parties:
                parties[out.recipient].receive(sender, out.data, now)
                collect(out.recipient)
        running = any(not p.state.terminal for p in parties.values() if isinstance(p, Party))
        if initiator.deadline_ms and now < initiator.deadline_ms and running:
            now = initiator.deadline_ms
            for key, party in parties.items():
                party.tick(now)
                collect(key)
            continue
        break
    result.rounds = initiator.round
    result.end_ms = now
    return result
