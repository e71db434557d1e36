"""Sessions between agents over BLE on bumble: software controllers sharing one link (no radio,
no root).

Real bumble host stacks connect, exchange MTUs, write without response and notify; only the
radio is simulated (``edge_dan.ble.backends.sim``, which fills two gaps of bumble's own
simulation). The sessions run on the BLE layer's pipes through ``transports.gatt``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable

import pytest
from ble_agents import Agent, agent, first_sighting, listener, shut, sightings
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket
from test_gatt_channel import (
    ALICE,
    BOB,
    CAROL,
    MAX_BLOB,
    Blob,
    a_lost_fragment_ends_both,
    blob,  # noqa: F401  (the fixture registering Blob)
    exchange,
    initiator,
    responder,
    run,
)

from edge_dan.ble import AGENT_SERVICE, open_central
from edge_dan.ble.backends.bumble import BumbleCentral, BumblePipe
from edge_dan.ble.backends.sim import ScanResponseController, new_link
from edge_dan.ble.gatt import DisconnectHandler, ValueHandler
from edge_dan.discovery.ble import BleScanner
from edge_dan.identity import Identity
from edge_dan.transports.channel import SessionChannel
from edge_dan.transports.gatt import open_gatt_channel
from edge_dan.wire.errors import ConnectionLost, SessionClosed
from edge_dan.wire.messages import CloseCode, Error, ErrorCode
from edge_dan.wire.session import Session, SessionLimits

# A frame only counts as a sign of life once all its fragments are in: a 20 KB message at MTU 23
# through the simulated stack on a busy 2-core machine takes seconds, so keepalives are slower
# than over TCP (real BLE, at 3 to 60 KB/s, needs the default 15 s interval or longer).
BLE_LIMITS = SessionLimits(handshake_timeout=10.0, keepalive_interval=10.0, close_timeout=2.0)


def ble_initiator(identity: Identity) -> Callable[[float], Session]:
    return initiator(identity, BLE_LIMITS)


def ble_responder() -> Callable[[float], Session]:
    return responder(BOB, BLE_LIMITS)


async def connect(scanner: BleScanner) -> BumblePipe:
    """The scanner's central connects to the first agent it sees."""
    central = scanner.central
    assert isinstance(central, BumbleCentral)
    return await central.connect((await first_sighting(scanner)).address, AGENT_SERVICE)


async def connected_channels(
    alice: Agent, bob: Agent
) -> tuple[SessionChannel, SessionChannel, BumblePipe, BumblePipe]:
    """Alice's central connects to Bob's peripheral; the sessions run on the GATT link."""
    central_pipe = await connect(alice.scanner)
    # Alice starts the handshake before Bob listens: early fragments must wait for him.
    opening = asyncio.create_task(open_gatt_channel(central_pipe, ble_initiator(ALICE)))
    await asyncio.sleep(0.05)
    peripheral_pipe = await bob.peripheral.accept()
    bob_channel = await open_gatt_channel(peripheral_pipe, ble_responder())
    return await opening, bob_channel, central_pipe, peripheral_pipe


@pytest.mark.slow
@pytest.mark.usefixtures("blob")
@pytest.mark.parametrize("mtu", [23, 185, 247, 517])
def test_a_hundred_messages_up_to_20_kb_each_way_at_every_mtu(mtu: int) -> None:
    async def main() -> None:
        link = new_link()
        alice, bob = await agent(link, "alice", mtu=mtu), await agent(link, "bob")
        a, b, central_pipe, peripheral_pipe = await connected_channels(alice, bob)
        assert central_pipe.att_mtu == peripheral_pipe.att_mtu == mtu
        assert a.peer_identity_key == BOB.public_key and b.peer_identity_key == ALICE.public_key
        await exchange(a, b)
        await a.close()
        await b.close()
        assert isinstance(a.error, SessionClosed) and isinstance(b.error, SessionClosed)
        assert b.error.by_peer and b.error.code == CloseCode.NORMAL
        await asyncio.wait_for(central_pipe.wait_disconnected(), 5)
        await asyncio.wait_for(peripheral_pipe.wait_disconnected(), 5)
        await shut(alice, bob)

    run(main(), timeout=120)


def test_a_rotation_changes_the_advertisement_but_keeps_open_sessions() -> None:
    async def main() -> None:
        link = new_link()
        bob = await agent(link, "bob")
        a, b, _, _ = await connected_channels(await agent(link, "alice"), bob)
        before = bob.peripheral.address
        await bob.advertiser.rotate()
        assert bob.peripheral.address != before
        await b.send(note("after the rotation"))
        await a.send(note("still here"))
        assert await a.receive() == note("after the rotation")
        assert await b.receive() == note("still here")
        addresses = set()
        async for sighting in sightings(await listener(link)):  # alice advertises too
            addresses.add(sighting.address)
            if sighting.address == bob.peripheral.address:
                break
        assert before not in addresses
        await a.close()
        await b.close()
        await shut(bob)

    run(main())


def test_one_peripheral_holds_separate_sessions_with_two_centrals() -> None:
    async def main() -> None:
        link = new_link()
        bob = await agent(link, "bob")
        channels: list[tuple[SessionChannel, SessionChannel]] = []
        for name, identity in (("alice", ALICE), ("carol", CAROL)):
            # advertising resumed after the first connection, so the second central finds bob
            pipe = await connect(await listener(link, name))
            opening = asyncio.create_task(open_gatt_channel(pipe, ble_initiator(identity)))
            bob_side = await open_gatt_channel(await bob.peripheral.accept(), ble_responder())
            channels.append((await opening, bob_side))
        for (theirs, bobs), word in zip(channels, ("for alice", "for carol"), strict=True):
            await bobs.send(note(word))
            await theirs.send(note(f"from {word[4:]}"))
        assert [await theirs.receive() for theirs, _ in channels] == [
            note("for alice"),
            note("for carol"),
        ]
        assert [await bobs.receive() for _, bobs in channels] == [
            note("from alice"),
            note("from carol"),
        ]
        assert [bobs.peer_identity_key for _, bobs in channels] == [
            ALICE.public_key,
            CAROL.public_key,
        ]
        for theirs, bobs in channels:
            await theirs.close()
            await bobs.close()
        await shut(bob)

    run(main())


def note(text: str) -> Error:
    return Error(ErrorCode.INTERNAL, 0, text)


class DroppingPipe:
    """Passes everything through to a real pipe, except the sent fragment number ``drop``."""

    def __init__(self, pipe: BumblePipe, drop: int) -> None:
        self._pipe = pipe
        self._drop = drop
        self.sent = 0

    @property
    def att_mtu(self) -> int:
        return self._pipe.att_mtu

    async def send(self, fragment: bytes) -> None:
        self.sent += 1
        if self.sent - 1 != self._drop:
            await self._pipe.send(fragment)

    def set_handlers(self, on_value: ValueHandler, on_disconnect: DisconnectHandler) -> None:
        self._pipe.set_handlers(on_value, on_disconnect)

    async def disconnect(self) -> None:
        await self._pipe.disconnect()


@pytest.mark.usefixtures("blob")
def test_a_dropped_fragment_ends_the_session_cleanly_on_both_sides() -> None:
    async def main() -> None:
        link = new_link()
        alice, bob = await agent(link, "alice", mtu=185), await agent(link, "bob")
        lossy = DroppingPipe(await connect(alice.scanner), drop=40)
        opening = asyncio.create_task(open_gatt_channel(lossy, ble_initiator(ALICE)))
        peripheral_pipe = await bob.peripheral.accept()
        b = await open_gatt_channel(peripheral_pipe, ble_responder())
        a = await opening
        # about 120 fragments: number 40 is lost
        await a_lost_fragment_ends_both(a, b, Blob(bytes(MAX_BLOB)))
        await a.close()
        await b.close()
        await asyncio.wait_for(peripheral_pipe.wait_disconnected(), 5)
        await shut(alice, bob)

    run(main())


@pytest.mark.usefixtures("blob")
def test_a_disconnect_mid_message_ends_both_sides_with_connection_lost() -> None:
    async def main() -> None:
        link = new_link()
        alice, bob = await agent(link, "alice", mtu=23), await agent(link, "bob")
        a, b, central_pipe, _ = await connected_channels(alice, bob)
        received: list[bytes] = []
        original = central_pipe._on_value
        assert original is not None

        def spy(fragment: bytes) -> None:
            received.append(fragment)
            original(fragment)

        central_pipe._on_value = spy
        sending = asyncio.create_task(b.send(Blob(bytes(MAX_BLOB))))  # about 1100 fragments
        while len(received) < 100:
            await asyncio.sleep(0.001)
        connection = next(iter(alice.device.connections.values()))
        await connection.disconnect()  # the link drops mid-message, as out of range would
        with contextlib.suppress(ConnectionLost):
            await sending
        for channel in (a, b):
            with pytest.raises(ConnectionLost, match="BLE link went down") as lost:
                await channel.receive()
            assert "established state" in str(lost.value)
        await a.close()
        await b.close()
        await shut(alice, bob)

    run(main())


def test_a_controller_reached_over_hci_on_tcp_runs_a_session() -> None:
    """The host stack talks to its controller through real serialized HCI on a loopback socket
    (as with a USB dongle or a bumble controller in another process)."""

    async def main() -> None:
        link = new_link()
        bob = await agent(link, "bob")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            served = await open_tcp_server_transport_with_socket(sock)
            async with served:
                ScanResponseController(
                    "remote", host_source=served.source, host_sink=served.sink, link=link
                )
                transport = f"tcp-client:127.0.0.1:{port}"  # an HCI transport: bumble runs it
                async with open_central(hci_transport=transport, max_mtu=247) as central:
                    assert isinstance(central, BumbleCentral)
                    assert not central.device.random_address.is_static  # a private address
                    sighting = await first_sighting(BleScanner(central))
                    pipe = await central.connect(sighting.address, AGENT_SERVICE)
                    assert pipe.att_mtu == 247
                    opening = asyncio.create_task(open_gatt_channel(pipe, ble_initiator(ALICE)))
                    b = await open_gatt_channel(await bob.peripheral.accept(), ble_responder())
                    a = await opening
                    await a.send(note("over HCI on TCP"))
                    assert await b.receive() == note("over HCI on TCP")
                    await a.close()
                    await b.close()
        await shut(bob)

    run(main())
