"""The Agent end to end on an ordinary machine: no root, no namespace, no multicast.

Agents in one process find each other through a ``LoopbackHub`` and talk over real TCP sockets
on 127.0.0.1 with the real handshake: strangers pair by numeric comparison (both owners answer),
partners recognise each other, connect, swap advertising keys, negotiate and keep the same
signed accord; strangers cannot even complete a handshake; failures are typed and bounded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from agent_homes import (
    Home,
    agents,
    agree_on_dinner,
    first_meeting,
    pair_them,
    partners,
    removed,
    run,
    until,
)

from edge_dan.agent import Agent, AgentError
from edge_dan.agent.core import MAX_FAILURES
from edge_dan.agent.networks import LoopbackHub, LoopbackNetwork
from edge_dan.transports import tcp
from edge_dan.wire.errors import ProtocolError
from edge_dan.wire.session import Role, Session, SessionLimits

LIMITS = SessionLimits(handshake_timeout=5.0, keepalive_interval=0.5, dead_peer_intervals=3)


@asynccontextmanager
async def running(
    homes: list[Home], *, accept_pairing: bool = True, period: float = 900.0
) -> AsyncIterator[LoopbackHub]:
    """An agent in each home, all on one ``LoopbackHub``."""
    hub = LoopbackHub()
    async with agents(
        homes,
        lambda home: [LoopbackNetwork(hub)],
        limits=LIMITS,
        accept_pairing=accept_pairing,
        period=period,
    ):
        yield hub


def test_strangers_pair_by_numeric_comparison_then_find_and_reach_each_other(
    tmp_path: Path,
) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        async with running([alice, bob]):
            _, session = await first_meeting(alice, bob, "lan")
            await session.channel.close()

    run(scenario())


def test_a_declining_owner_leaves_both_stores_unchanged_and_the_failure_is_typed(
    tmp_path: Path,
) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        async with running([alice, bob], accept_pairing=False):
            for _attempt in range(2):
                with pytest.raises(AgentError):
                    await pair_them(alice, bob)
            assert alice.owner.peers.list() == [] and bob.owner.peers.list() == []
            failures = list(alice.agent.failures)
            assert [f.kind for f in failures] == ["pairing", "pairing"]
            assert "declined" in str(failures[-1].error)
            assert str(failures[-1]).startswith("pairing: ")

    run(scenario())


def test_failures_are_bounded(tmp_path: Path) -> None:
    """A peer that fails pairing in a loop cannot grow the agent's memory."""
    alice = Home("alice", tmp_path)
    agent = Agent(alice.owner, networks=[LoopbackNetwork(LoopbackHub())])
    for i in range(MAX_FAILURES + 25):
        agent._fail("pairing", AgentError(f"attempt {i}"))
    assert len(agent.failures) == MAX_FAILURES
    assert str(agent.failures[-1].error) == f"attempt {MAX_FAILURES + 24}"
    alice.owner.close()


def test_a_stranger_gets_no_handshake_when_pairing_is_closed(tmp_path: Path) -> None:
    alice, mallory = Home("alice", tmp_path), Home("mallory", tmp_path)

    async def scenario() -> None:
        async with running([alice]):

            def initiator(now: float) -> Session:
                return Session(Role.INITIATOR, mallory_identity, now=now, pattern="XX")

            # Not even a refusal inside a session: the handshake fails, so the stranger never
            # sees Alice's static key or identity (test_agent_stranger_view has the details).
            with pytest.raises(ProtocolError):
                await tcp.connect("127.0.0.1", alice.agent.port, initiator)
            assert alice.owner.peers.list() == []

    mallory_identity = mallory.owner.identity.ensure()
    run(scenario())
    mallory.owner.close()


def test_partners_negotiate_and_keep_the_same_signed_accord(tmp_path: Path) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        async with running([alice, bob]):
            await agree_on_dinner(alice, bob, await partners(alice, bob))

    run(scenario())


def test_a_partner_that_stops_leaves_the_directory_at_once(tmp_path: Path) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        async with running([alice, bob]):
            bob_id = await partners(alice, bob)
            events = alice.agent.events()
            await bob.agent.stop()  # the goodbye withdraws its advert
            await removed(events, bob_id, timeout=10)
            assert alice.agent.directory.partner(bob_id) is None
            with pytest.raises(AgentError, match="not nearby"):
                await alice.agent.connect(bob_id)

    run(scenario())


def test_the_listening_port_rotates_with_the_advert(tmp_path: Path) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        async with running([alice, bob], period=1.0):
            ports = {bob.agent.port}
            await until(lambda: bob.agent.port not in ports, timeout=5)
            bob_id = await partners(alice, bob)  # still reachable after rotations
            session = await alice.agent.connect(bob_id)
            await session.channel.close()

    run(scenario())
