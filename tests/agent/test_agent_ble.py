"""The Agent over Bluetooth LE only: ``BleNetwork`` on bumble's software radio, in one process.

Each agent's one network is a ``BleNetwork`` on its own bumble device (``ble_agents.roles``),
all on one simulated link (``edge_dan.ble.backends.sim``): real host stacks advertise the rotating
token, scan actively, connect, exchange MTUs and carry the sessions over GATT; only the radio is
simulated. No root, no adapter. The same scenarios as over the loopback network: strangers pair
by numeric comparison, partners find each other and negotiate to one accord both keep, a
stranger is refused, and an agent that stops leaves its partner's directory.
"""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from agent_homes import (
    Home,
    agents,
    agree_on_dinner,
    first_meeting,
    partners,
    removed,
    run,
    until,
)
from ble_agents import listener, roles, sightings
from bumble.link import LocalLink
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

from edge_dan.agent import Agent, AgentError, PartnerSession
from edge_dan.agent.ble_network import BleNetwork
from edge_dan.agent.networks import LanNetwork, LoopbackHub, LoopbackNetwork, default_networks
from edge_dan.ble import AGENT_SERVICE, BleUnavailable
from edge_dan.ble.backends.sim import ScanResponseController, new_link
from edge_dan.discovery.directory import DirectoryEvent
from edge_dan.transports.gatt import open_gatt_channel
from edge_dan.wire.errors import ProtocolError, SessionClosed
from edge_dan.wire.messages import CloseCode
from edge_dan.wire.session import Role, Session, SessionLimits

# Slower keepalives than over TCP: a frame counts as a sign of life once all its fragments are
# in, which on the simulated stack on a busy machine can take a while (see test_gatt_over_bumble).
LIMITS = SessionLimits(handshake_timeout=10.0, keepalive_interval=5.0, close_timeout=2.0)
TTL = 3.0  # seconds an advertiser may go unheard before its link is withdrawn


@asynccontextmanager
async def on_air(
    homes: list[Home], link: LocalLink | None = None, *, accept_pairing: bool = True
) -> AsyncIterator[LocalLink]:
    """An agent in each home whose only network is BLE, each on its own device on ``link``."""
    link = link or new_link()
    networks = {}
    for home in homes:
        _, central, peripheral = await roles(link, home.who)
        networks[home.who] = BleNetwork(central, peripheral, ttl=TTL)
    async with agents(
        homes, lambda home: [networks[home.who]], limits=LIMITS, accept_pairing=accept_pairing
    ):
        yield link


async def in_session(
    alice: Home, bob: Home
) -> tuple[bytes, PartnerSession, AsyncIterator[DirectoryEvent]]:
    """Alice and Bob pair, then Alice holds a session with Bob: his identity key, the session,
    and Alice's directory events from then on."""
    bob_id = await partners(alice, bob)
    session = await alice.agent.connect(bob_id)
    return bob_id, session, alice.agent.events()


def test_strangers_pair_over_ble_then_find_and_reach_each_other(tmp_path: Path) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        async with on_air([alice, bob]):
            entry, session = await first_meeting(alice, bob, "ble")
            assert list(entry.links) == ["ble"] and entry.rssi is not None  # a radio sighting
            await session.channel.close()
            with pytest.raises(AgentError, match="TCP port"):
                _ = alice.agent.port  # BLE only: no port to name

    run(scenario())


def test_partners_negotiate_over_ble_and_keep_the_same_signed_accord(tmp_path: Path) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        async with on_air([alice, bob]):
            await agree_on_dinner(alice, bob, await partners(alice, bob), timeout=30)

    run(scenario(), timeout=90)


def test_the_lan_is_preferred_and_ble_reaches_a_partner_once_the_lan_is_gone(
    tmp_path: Path,
) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        link, hub = new_link(), LoopbackHub()
        lans = {home.who: LoopbackNetwork(hub) for home in (alice, bob)}
        bles = {}
        for home in (alice, bob):
            _, central, peripheral = await roles(link, home.who)
            bles[home.who] = BleNetwork(central, peripheral, ttl=TTL)

        def links() -> set[str]:
            entry = alice.agent.directory.partner(bob.agent.identity.public_key)
            return set() if entry is None else set(entry.links)

        async with agents(
            [alice, bob], lambda home: [lans[home.who], bles[home.who]], limits=LIMITS
        ):
            bob_id = await partners(alice, bob)
            await until(lambda: links() == {"lan", "ble"})
            session = await alice.agent.connect(bob_id)
            assert session.via == "lan"
            await session.channel.close()
            await lans["bob"].stop()  # Bob leaves the LAN: its goodbye drops that link
            await until(lambda: links() == {"ble"})
            session = await alice.agent.connect(bob_id)
            assert session.via == "ble"
            await session.channel.close()

    run(scenario())


def test_a_stranger_gets_no_handshake_over_ble_when_pairing_is_closed(tmp_path: Path) -> None:
    alice, mallory = Home("alice", tmp_path), Home("mallory", tmp_path)
    mallory_identity = mallory.owner.identity.ensure()

    async def scenario() -> None:
        async with on_air([alice]) as link:
            scanner = await listener(link, "mallory")  # a bare radio, no agent behind it
            async for seen in sightings(scanner):
                address = seen.address
                break
            pipe = await scanner.central.connect(address, AGENT_SERVICE)

            def initiator(now: float) -> Session:
                return Session(
                    Role.INITIATOR, mallory_identity, now=now, pattern="XX", limits=LIMITS
                )

            # Only partners complete a handshake: the stranger never sees Alice's identity.
            with pytest.raises(ProtocolError):
                await open_gatt_channel(pipe, initiator)
            assert alice.owner.peers.list() == []

    run(scenario())
    mallory.owner.close()


def test_a_partner_that_stops_ends_its_session_and_leaves_the_directory(tmp_path: Path) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        async with on_air([alice, bob]):
            bob_id, session, events = await in_session(alice, bob)
            await bob.agent.stop()  # BLE has no goodbye: Bob just stops advertising
            with pytest.raises(SessionClosed) as closed:
                await session.channel.receive()
            assert closed.value.code == CloseCode.SHUTTING_DOWN
            await removed(events, bob_id, timeout=TTL + 10)  # not heard for TTL seconds
            assert alice.agent.directory.partner(bob_id) is None

    run(scenario())


def test_a_dead_session_drops_the_ble_link_until_the_partner_is_heard_again(
    tmp_path: Path,
) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        async with on_air([alice, bob]):
            bob_id, session, events = await in_session(alice, bob)
            session.channel.abort()  # the link drops without a close, as out of range would
            await removed(events, bob_id, timeout=10)  # at once, not after TTL
            # Bob still advertises: his next advertisement brings the link back.
            await alice.agent.wait_for_partner(bob_id, timeout=10)
            again = await alice.agent.connect(bob_id)
            assert again.via == "ble"
            await again.channel.close()

    run(scenario())


def test_an_agent_on_a_controller_reached_over_hci_finds_and_pairs(tmp_path: Path) -> None:
    """``BleNetwork.for_platform`` with an HCI transport: bumble drives the controller through
    serialized HCI on a loopback socket, both roles on one device, as with a USB dongle."""
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        link = new_link()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            async with await open_tcp_server_transport_with_socket(sock) as served:
                ScanResponseController(
                    "alice", host_source=served.source, host_sink=served.sink, link=link
                )
                hci = BleNetwork.for_platform(f"tcp-client:127.0.0.1:{port}", ttl=TTL)
                _, central, peripheral = await roles(link, "bob")
                bobs = BleNetwork(central, peripheral, ttl=TTL)
                networks = {"alice": hci, "bob": bobs}
                async with agents([alice, bob], lambda home: [networks[home.who]], limits=LIMITS):
                    bob_id = await partners(alice, bob)
                    session = await alice.agent.connect(bob_id)
                    assert session.via == "ble"
                    await session.channel.close()

    run(scenario())


def test_for_platform_names_what_to_install_when_ble_cannot_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec

    def without_dbus(name: str, *args: Any) -> Any:
        return None if name == "dbus_fast" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_dbus)
    with pytest.raises(BleUnavailable, match=r"needs dbus-fast: pip install dbus-fast"):
        BleNetwork.for_platform()


def test_the_default_is_the_lan_alone(tmp_path: Path) -> None:
    """BLE is the app's choice, not detected: ``networks=[LanNetwork(), BleNetwork...]``."""
    assert [type(network) for network in default_networks()] == [LanNetwork]
    home = Home("alice", tmp_path)
    ble = BleNetwork.for_platform("usb:0")  # checked (bumble is installed), nothing opened yet
    agent = Agent(home.owner, networks=[LanNetwork(), ble])
    assert [network.transport for network in agent.networks] == ["lan", "ble"]
    home.owner.close()
