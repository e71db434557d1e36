"""The Agent against hostile peers on loopback (issue #14): a stranger flooding the port with
silent connections, a partner mediating negotiations that never end or replaying an id, and a
shutdown with sessions still live."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from agent_homes import SPACE, Home, agents, agree_on_dinner, partners, run, strategy

from edge_dan.agent import negotiations
from edge_dan.agent.networks import LoopbackHub, LoopbackNetwork
from edge_dan.negotiation.protocols.agenda import agenda_for
from edge_dan.negotiation.protocols.mediated import Mediator, Participant
from edge_dan.negotiation.strategy import Policy
from edge_dan.wire.messages.negotiation import Bids, Withdraw, WithdrawCode
from edge_dan.wire.session import SessionLimits

LIMITS = SessionLimits(handshake_timeout=5.0, keepalive_interval=0.5, dead_peer_intervals=3)
STRANGER = "127.0.0.2"  # another loopback address: another host, as far as the listener knows


@asynccontextmanager
async def running(homes: list[Home], policy: Policy | None = None) -> AsyncIterator[None]:
    hub = LoopbackHub()
    async with agents(homes, lambda home: [LoopbackNetwork(hub)], limits=LIMITS, policy=policy):
        yield


@asynccontextmanager
async def silent_flood(port: int, count: int, source: str) -> AsyncIterator[None]:
    """``count`` TCP connections from ``source`` to ``port`` that never send a byte."""
    writers: list[asyncio.StreamWriter] = []
    try:
        for _ in range(count):
            _, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
            writers.append(writer)
        await asyncio.sleep(0.1)  # the listener has accepted them all
        yield
    finally:
        for writer in writers:
            writer.transport.abort()


def test_a_partner_gets_in_while_a_stranger_floods_the_port(tmp_path: Path) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        async with running([alice, bob]):
            bob_id = await partners(alice, bob)
            for source in (STRANGER, "127.0.0.1"):  # another host, then Alice's own address
                async with silent_flood(bob.agent.port, 64, source):
                    for _ in range(3):
                        session = await alice.agent.connect(bob_id)
                        await session.channel.close()

    run(scenario())


def test_a_negotiation_invited_without_a_deadline_ends_by_the_owners_maximum(
    tmp_path: Path,
) -> None:
    """Alice's agent, hostile, invites Bob with no deadline, takes his bids and then says nothing
    while keeping the session alive: Bob's side ends at the deadline his policy allows."""
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)
    nid = bytes(range(16))

    async def scenario() -> None:
        async with running([alice, bob], policy=Policy(max_duration=1.0)):
            bob_id = await partners(alice, bob)
            session = await alice.agent.connect(bob_id)
            channel = session.channel
            await channel.send(agenda_for(nid, "Friday dinner", SPACE))
            mediator = Mediator(
                alice.agent.identity, strategy("alice", SPACE), [bob_id], negotiation_id=nid
            )
            mediator.start(alice.agent.clock())
            (invite,) = mediator.take_outgoing()
            assert invite.message.deadline_ms == 0  # type: ignore[attr-defined]
            await channel.send(invite.message)
            assert isinstance(await channel.receive(), Bids)
            result = await asyncio.wait_for(bob.agent.negotiations.results.get(), 10)
            assert result.failure is not None and result.failure.code == WithdrawCode.DEADLINE
            assert await channel.receive() == Withdraw(nid, int(WithdrawCode.DEADLINE))
            # Ended and freed, though the session lives on: Bob's side holds no participant.
            gc.collect()
            assert not [o for o in gc.get_objects() if isinstance(o, Participant)]
            await channel.close()

    run(scenario())


def test_a_replayed_negotiation_id_is_declined_and_binds_nobody_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)
    monkeypatch.setattr(negotiations, "new_negotiation_id", lambda entropy: bytes(range(16)))

    async def scenario() -> None:
        async with running([alice, bob]):
            bob_id = await partners(alice, bob)
            await agree_on_dinner(alice, bob, bob_id)
            again = await alice.agent.negotiate(
                [bob_id], "Friday dinner", SPACE, strategy("alice", SPACE), timeout=20
            )
            assert again.accord is None and again.failure is not None
            # Bob declined (code 1): the mediator reports that a party left.
            assert again.failure.code == WithdrawCode.PEER_WITHDREW
            for home in (alice, bob):
                assert len(home.owner.accords.list()) == 1

    run(scenario())


def test_negotiations_beyond_the_joined_budget_are_declined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What partners' mediators can make this agent hold is bounded: an agenda that would take
    the listed outcomes past ``JOINED_OUTCOMES`` is declined."""
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)
    monkeypatch.setattr(negotiations, "JOINED_OUTCOMES", SPACE.cardinality - 1)

    async def scenario() -> None:
        async with running([alice, bob]):
            bob_id = await partners(alice, bob)
            result = await alice.agent.negotiate(
                [bob_id], "Friday dinner", SPACE, strategy("alice", SPACE), timeout=20
            )
            assert result.accord is None and result.failure is not None
            assert result.failure.code == WithdrawCode.PEER_WITHDREW
            assert bob.owner.accords.list() == []

    run(scenario())


def test_stopping_with_live_sessions_and_a_negotiation_running_is_quiet(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Agents stopped while partners' sessions are open and a negotiation runs on them: every
    task ends with the agents, nothing is left for ``asyncio.run`` to cancel, no traceback."""
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        async with asyncio.timeout(60), running([alice, bob]):
            bob_id = await partners(alice, bob)
            sessions = [await alice.agent.connect(bob_id) for _ in range(3)]
            negotiating = asyncio.create_task(
                alice.agent.negotiate([bob_id], "Friday dinner", SPACE, strategy("alice", SPACE))
            )
            await asyncio.sleep(0.05)  # the agenda and the invitation are on their way
        await asyncio.gather(negotiating, return_exceptions=True)
        assert all(session.channel.has_ended() for session in sessions)
        current = asyncio.current_task()
        assert [task for task in asyncio.all_tasks() if task is not current] == []

    with caplog.at_level("ERROR", logger="asyncio"):
        asyncio.run(scenario())  # directly: it cancels whatever the agents left running
    assert [record.getMessage() for record in caplog.records] == []
