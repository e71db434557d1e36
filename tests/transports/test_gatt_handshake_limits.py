"""Silent centrals cannot keep partners out of a GATT listener (issue #14, the BLE half of
defect 2).

Centrals on bumble's software radio (``ble_agents``) connect to Bob's peripheral and subscribe,
then never write: on the old listener each held one of ``max_sessions`` for as long as it liked.
Handshakes in progress are now bounded apart from established sessions, as over TCP.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from ble_agents import Agent, agent, first_sighting, listener, shut
from bumble.link import LocalLink
from test_gatt_channel import ALICE, run
from test_gatt_over_bumble import ble_initiator, ble_responder, note

from edge_dan.ble import AGENT_SERVICE
from edge_dan.ble.backends.bumble import BumbleCentral, BumblePipe
from edge_dan.ble.backends.sim import new_link
from edge_dan.transports.admission import HandshakeLimits
from edge_dan.transports.channel import SessionChannel
from edge_dan.transports.gatt import open_gatt_channel, serve_gatt


async def echo(channel: SessionChannel) -> None:
    async for message in channel:
        await channel.send(message)


async def connect_to_bob(link: LocalLink, name: str) -> BumblePipe:
    """A new central (its own device and address) connected to the agent it sees first."""
    scanner = await listener(link, name)
    central = scanner.central
    assert isinstance(central, BumbleCentral)
    return await central.connect((await first_sighting(scanner)).address, AGENT_SERVICE)


@contextlib.asynccontextmanager
async def silent_centrals(link: LocalLink, count: int) -> AsyncIterator[list[BumblePipe]]:
    """``count`` centrals connected to Bob and subscribed, that never write."""
    pipes: list[BumblePipe] = []
    try:
        for index in range(count):
            pipes.append(await connect_to_bob(link, f"silent{index}"))
        yield pipes
    finally:
        for pipe in pipes:
            await pipe.disconnect()


async def partner_echoes(link: LocalLink) -> None:
    pipe = await connect_to_bob(link, "alice")
    channel = await asyncio.wait_for(open_gatt_channel(pipe, ble_initiator(ALICE)), 20)
    await channel.send(note("hello"))
    assert await channel.receive() == note("hello")
    await channel.close()


def test_a_partner_gets_in_while_silent_centrals_hold_connections() -> None:
    async def main() -> None:
        link = new_link()
        bob: Agent = await agent(link, "bob")
        served = await serve_gatt(bob.peripheral, ble_responder(), echo, max_sessions=2)
        async with silent_centrals(link, 3):  # more than max_sessions
            await asyncio.sleep(0.2)  # let the listener take them all
            await partner_echoes(link)
        await served.close()
        await shut(bob)

    run(main(), timeout=120)


def test_a_silent_central_is_disconnected_after_the_handshake_timeout() -> None:
    async def main() -> None:
        link = new_link()
        bob = await agent(link, "bob")
        # The session alone would wait 10 s (ble_responder); the listener's bound is shorter.
        limits = HandshakeLimits(handshake_timeout=0.3)
        served = await serve_gatt(bob.peripheral, ble_responder(), echo, handshakes=limits)
        async with silent_centrals(link, 1) as (pipe,):
            await asyncio.wait_for(pipe.wait_disconnected(), 8)  # by the listener
            assert not served.channels
        await served.close()
        await shut(bob)

    run(main(), timeout=60)
