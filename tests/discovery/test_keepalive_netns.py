"""Liveness comes from session keepalives: a cut cable ends a real TCP session on both sides.

Two agents in two network namespaces: one advertises its listener over mDNS, the other finds it
with its browser and connects to the address and port it saw. Both hold an edge_dan session with
a short keepalive; then the bridge port of one agent goes down (no FIN, no RST: the cable is
pulled) and each side must end its channel through the dead-peer timeout. mDNS would have kept
the peer listed for ~19 minutes (see test_mdns_netns).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from netns import Lab, Recorder

from edge_dan.discovery.mdns import MdnsAdvertiser, MdnsBrowser, PeerAdded, PeerEvent
from edge_dan.discovery.tokens import TokenRotator, new_advertising_key
from edge_dan.identity import Identity
from edge_dan.transports.tcp import Listener, SessionChannel, connect, serve
from edge_dan.wire.errors import ConnectionLost, ProtocolError, SessionClosed
from edge_dan.wire.messages import CloseCode, Error, ErrorCode
from edge_dan.wire.session import Role, Session, SessionLimits

pytestmark = pytest.mark.slow
LIMITS = SessionLimits(handshake_timeout=5.0, keepalive_interval=0.5, dead_peer_intervals=3)
ALICE, BOB = Identity.generate(), Identity.generate()


def hello(text: str) -> Error:
    return Error(ErrorCode.INTERNAL, 0, text)


async def _hold(channel: SessionChannel, ends: Recorder[tuple[str, ProtocolError]]) -> None:
    """Read until the session ends; record how it ended."""
    try:
        async for _ in channel:
            pass
    except ProtocolError:
        pass
    await channel.wait_closed()
    assert channel.error is not None
    ends((channel.session.role.value, channel.error))


def test_a_cut_link_ends_the_session_on_both_sides_through_keepalives(lab: Lab) -> None:
    server_node, client_node = lab.nodes
    server_loop, client_loop = lab.loop(server_node), lab.loop(client_node)
    ends: Recorder[tuple[str, ProtocolError]] = Recorder()
    found: Recorder[PeerEvent] = Recorder()

    async def start_server() -> tuple[Listener, MdnsAdvertiser]:
        async def handler(channel: SessionChannel) -> None:
            await channel.send(hello("server here"))
            await _hold(channel, ends)

        listener = await serve(
            "0.0.0.0",
            0,
            lambda now: Session(Role.RESPONDER, BOB, now=now, pattern=None, limits=LIMITS),
            handler,
        )
        server_loop.on_close(listener.close)
        advertiser = MdnsAdvertiser(TokenRotator(new_advertising_key()), listener.port)
        server_loop.on_close(advertiser.stop)
        await advertiser.start()
        return listener, advertiser

    listener, advertiser = server_loop.run(start_server())
    browser = MdnsBrowser(on_event=found)
    client_loop.on_close(browser.stop)
    client_loop.run(browser.start())
    _, event = found.wait_for(lambda e: isinstance(e, PeerAdded), 10.0)
    assert isinstance(event, PeerAdded) and event.peer.port == listener.port

    async def start_client() -> SessionChannel:
        address = event.peer.addresses[0]
        channel = await connect(
            address,
            event.peer.port,
            lambda now: Session(Role.INITIATOR, ALICE, now=now, limits=LIMITS),
        )
        client_loop.on_close(channel.close)
        assert channel.peer_identity_key == BOB.public_key
        message = await channel.receive()
        assert message == hello("server here")
        asyncio.create_task(_hold(channel, ends))  # noqa: RUF006 (the loop keeps it; ends records it)
        return channel

    channel = client_loop.run(start_client())
    # Keepalives keep an idle session alive well past the dead-peer timeout while the link is up.
    time.sleep(3 * LIMITS.dead_peer_timeout)
    assert ends.items() == []

    lab.cut(client_node)
    cut_at = time.monotonic()
    bound = 3 * LIMITS.dead_peer_timeout  # generous: the session itself aims at dead_peer_timeout
    first_at, _ = ends.wait_for(lambda end: True, bound)
    last_at, _ = ends.wait_for(lambda end: len(ends.items()) == 2, bound)
    outcomes = dict(ends.items())
    assert set(outcomes) == {"initiator", "responder"}
    for error in outcomes.values():
        # The dead-peer timeout closes with TIMEOUT on the side that noticed; a broken socket
        # would be ConnectionLost. An orderly close from the peer is impossible across a cut.
        assert isinstance(error, ConnectionLost) or (
            isinstance(error, SessionClosed) and error.code == CloseCode.TIMEOUT
        ), error
    print(
        f"\ncut noticed after {first_at - cut_at:.2f} s and {last_at - cut_at:.2f} s "
        f"(dead-peer timeout {LIMITS.dead_peer_timeout} s): {outcomes}"
    )
    lab.restore(client_node)
    client_loop.run(channel.close())
    client_loop.run(browser.stop())
    server_loop.run(advertiser.stop())
    server_loop.run(listener.close())
