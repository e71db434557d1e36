"""The Agent against hostile peers on loopback (issue #14): a stranger flooding the port with
silent connections, a partner mediating negotiations that never end or replaying an id, and a
shutdown with sessions still live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from agent_homes import Home, agents, partners, run

from edge_dan.agent.networks import LoopbackHub, LoopbackNetwork
from edge_dan.wire.session import SessionLimits

LIMITS = SessionLimits(handshake_timeout=5.0, keepalive_interval=0.5, dead_peer_intervals=3)
STRANGER = "127.0.0.2"  # another loopback address: another host, as far as the listener knows


@asynccontextmanager
async def running(homes: list[Home]) -> AsyncIterator[None]:
    hub = LoopbackHub()
    async with agents(homes, lambda home: [LoopbackNetwork(hub)], limits=LIMITS):
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
