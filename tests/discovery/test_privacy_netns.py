"""Privacy of the advertisements, as a stranger sees them: over three rotation periods, every mDNS
packet on the LAN and every BLE advertisement is recorded, and nothing links one period to another.

One agent advertises over mDNS (in its own network namespace, on a bridge) and over BLE (bumble
software radio), both from one ``TokenRotator``. The stranger records raw mDNS packets with a
plain multicast socket in a second namespace (not through our own parser: everything on the wire
counts) and every BLE sighting. Values that travel together in one packet or one advertisement
are joined; a stranger can link two rotation periods only if a chain of such shared values
connects their tokens. The test asserts that no such chain exists, apart from what every agent
of this release shares (service type, version, capabilities, the pairing flag) and the host's IP
address, which mDNS cannot hide (rotating it is the OS's job). A partner, meanwhile, recognises
every token.

The second test extends this to the handshake (issue #14): the stranger also connects to every
port a real agent advertises and tries every handshake it can make; what comes back joins the
same chains. Only partners complete a handshake, so with pairing closed nothing comes back.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from netns import Lab
from zeroconf import DNSAddress, DNSIncoming, DNSPointer, DNSService, DNSText

from edge_dan.ble.backends.bumble import BumbleCentral, BumblePeripheral
from edge_dan.ble.backends.sim import new_link, powered_device
from edge_dan.ble.gatt import AGENT_SERVICE
from edge_dan.discovery.ble import BleAdvertiser, BleScanner, BleSighting
from edge_dan.discovery.mdns import CAP_NEGOTIATE, CAP_PAIR, SERVICE_TYPE, MdnsAdvertiser
from edge_dan.discovery.tokens import (
    ADVERT_VERSION,
    FLAG_OPEN_TO_PAIRING,
    NONCE_LEN,
    Advert,
    Recogniser,
    TokenRotator,
    compute_tag,
    epoch_of,
    new_advertising_key,
    session_psk,
)
from edge_dan.identity import Identity
from edge_dan.wire.framing.tcp import HEADER_LEN, encode_frame
from edge_dan.wire.session import Role, Session

pytestmark = pytest.mark.slow
PERIOD = 3.0
PERIODS = 3
MDNS_GROUP = "224.0.0.251"
SHARED = {
    SERVICE_TYPE,
    "_services._dns-sd._udp.local.",
    "v=1",
    f"c={CAP_NEGOTIATE | CAP_PAIR:x}",
    "p=0",
}


class Packets(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: list[tuple[float, bytes]] = []  # (wall-clock arrival, packet)
        self.senders: list[str] = []  # the source address of each, in the same order

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append((time.time(), data))
        self.senders.append(addr[0])


async def record_mdns(interface_address: str, seconds: float) -> list[tuple[float, bytes]]:
    """Every mDNS packet that reaches this namespace's interface for ``seconds``."""
    transport, protocol = await listen_mdns(interface_address)
    try:
        await asyncio.sleep(seconds)
    finally:
        transport.close()
    return protocol.received


async def listen_mdns(interface_address: str) -> tuple[asyncio.DatagramTransport, Packets]:
    """Start recording every mDNS packet that reaches this namespace's interface."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("", 5353))
    membership = struct.pack(
        "4s4s", socket.inet_aton(MDNS_GROUP), socket.inet_aton(interface_address)
    )
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    loop = asyncio.get_running_loop()
    return await loop.create_datagram_endpoint(Packets, sock=sock)


def packet_values(data: bytes) -> set[str]:
    """Everything a stranger reads in one mDNS packet: names, targets, ports, TXT, addresses."""
    message = DNSIncoming(data)
    values = {question.name for question in message.questions}
    for record in message.answers():
        values.add(record.name)
        if isinstance(record, DNSPointer):
            values.add(record.alias)
        elif isinstance(record, DNSService):
            values.update((record.server, f"port={record.port}"))
        elif isinstance(record, DNSText):
            values.update(_txt_strings(record.text))
        elif isinstance(record, DNSAddress):
            values.add(socket.inet_ntoa(record.address))
    return values


def _txt_strings(text: bytes) -> Iterable[str]:
    i = 0
    while i < len(text):
        size = text[i]
        yield text[i + 1 : i + 1 + size].decode("ascii", "replace")
        i += 1 + size


class Links:
    """Union-find over observed values: two values are linked if a chain of co-occurrences joins
    them."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def _root(self, value: str) -> str:
        self._parent.setdefault(value, value)
        while self._parent[value] != value:
            self._parent[value] = self._parent[self._parent[value]]
            value = self._parent[value]
        return value

    def join(self, values: Iterable[str]) -> None:
        roots = [self._root(v) for v in values]
        for root in roots[1:]:
            self._parent[root] = roots[0]

    def groups(self) -> list[set[str]]:
        found: dict[str, set[str]] = {}
        for value in self._parent:
            found.setdefault(self._root(value), set()).add(value)
        return list(found.values())


def test_a_stranger_links_no_two_rotation_periods_and_a_partner_recognises_each(
    lab: Lab,
) -> None:
    agent_node, stranger_node = lab.nodes
    agent_loop, stranger_loop = lab.loop(agent_node), lab.loop(stranger_node)
    key = new_advertising_key()
    seconds = PERIOD * (PERIODS + 0.5)
    recording = stranger_loop.submit(record_mdns(stranger_node.address, seconds + 2))
    time.sleep(0.3)  # the recorder listens before the agent starts

    async def advertise_everywhere() -> list[BleSighting]:
        rotator = TokenRotator(key, period=PERIOD)
        ports = iter(range(40_000, 41_000, 7))  # a new port at every rotation, as the agent does
        link = new_link()
        peripheral = BumblePeripheral(
            await powered_device(link, "agent"), AGENT_SERVICE, advertising_interval=50.0
        )
        advertiser = BleAdvertiser(peripheral, rotator)
        stranger_radio = BleScanner(BumbleCentral(await powered_device(link, "stranger")))
        sightings: list[BleSighting] = []
        await advertiser.start()
        await stranger_radio.start(sightings.append)
        async with MdnsAdvertiser(rotator, port=lambda generation: next(ports)):
            await asyncio.sleep(seconds)
        await stranger_radio.stop()
        await advertiser.stop()
        await peripheral.stop()
        return sightings

    ble = agent_loop.run(advertise_everywhere(), timeout=seconds + 30)
    packets = recording.result(timeout=seconds + 30)

    links = Links()
    mdns_tokens: dict[str, float] = {}  # token -> when first seen
    for arrived, data in packets:
        values = packet_values(data) - SHARED - {agent_node.address}
        if any(v.endswith(SERVICE_TYPE) or v.startswith("t=") for v in values):
            for token in (v for v in values if v.startswith("t=")):
                mdns_tokens.setdefault(token, arrived)
            links.join(values)
    ble_tokens = set()
    for sighting in ble:
        token = "t=" + sighting.advert.token_text()
        ble_tokens.add(token)
        links.join([token, "ble:" + sighting.address])

    # Three periods were seen on each transport ...
    assert len(mdns_tokens) >= PERIODS, mdns_tokens
    assert len({s.advert.token for s in ble}) >= PERIODS
    # ... and no chain of shared values joins two of them.
    for group in links.groups():
        tokens = {v for v in group if v.startswith("t=")}
        assert len(tokens) <= 1, f"linkable across periods: {sorted(group)}"

    partner = Recogniser({b"agent": key}, period=PERIOD)
    for sighting in ble:
        assert partner.recognise(sighting.advert, sighting.seen_at) == b"agent"
    stranger = Recogniser({b"other": new_advertising_key()}, period=PERIOD)
    for token, arrived in mdns_tokens.items():
        advert = Advert(1, 0, Advert.token_from_text(token[2:]))
        assert partner.recognise(advert, arrived) == b"agent"
        assert stranger.recognise(advert, arrived) is None


# -- the handshake: what a stranger gets by connecting to the advertised ports ------------------

AGENT_PERIOD = 8.0  # a rotation's mDNS goodbye, probe and announcement take a few seconds
ATTEMPTS = ("XX", "IK", "IKpsk1")


@dataclass
class Knock:
    port: int
    attempt: str
    reply: bytes  # every byte the agent sent back (its first frame, if any)
    identity: bytes | None  # what the stranger learned from the reply, if it could read it


async def knock(address: str, port: int, attempt: str, static_guess: bytes) -> Knock:
    """One connection with one handshake message 1 a stranger can make; what came back."""
    mallory = Identity.generate()
    if attempt == "XX":
        session = Session(Role.INITIATOR, mallory, now=0.0, pattern="XX")
    elif attempt == "IK":
        session = Session(
            Role.INITIATOR, mallory, now=0.0, pattern="IK", remote_static=static_guess
        )
    else:  # the static key, if pairing once showed it, but a psk it can only guess
        psk = session_psk(new_advertising_key(), 0)
        session = Session(
            Role.INITIATOR, mallory, now=0.0, pattern="IKpsk1", remote_static=static_guess, psk=psk
        )
    reply = b""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), 5)
    except (OSError, TimeoutError):
        return Knock(port, attempt, reply, None)  # a listener already retired
    try:
        writer.write(encode_frame(session.take_outgoing()[0]))
        await writer.drain()
        header = await asyncio.wait_for(reader.read(HEADER_LEN), timeout=5)
        if header:
            reply = header + await reader.readexactly(int.from_bytes(header, "big"))
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()
    if reply:
        session.receive(reply[HEADER_LEN:], 0.0)
    return Knock(port, attempt, reply, session.peer.peer_identity_key if session.peer else None)


async def record_and_knock(
    interface_address: str, agent_address: str, stop: threading.Event
) -> tuple[list[bytes], list[Knock]]:
    """Record every mDNS packet the agent sends, and knock on every port it advertises (each
    attempt, once per port, as soon as it is seen) until ``stop``."""
    transport, protocol = await listen_mdns(interface_address)
    knocks: list[Knock] = []
    knocked: set[int] = set()
    static_guess = Identity.generate().static_public_key
    try:
        while not stop.is_set():
            for data in sent_by(protocol, agent_address):
                values = packet_values(data)
                for port in (int(v[5:]) for v in values if v.startswith("port=")):
                    if port in knocked:
                        continue
                    knocked.add(port)
                    for attempt in ATTEMPTS:
                        result = await knock(agent_address, port, attempt, static_guess)
                        knocks.append(result)
            await asyncio.sleep(0.1)
    finally:
        transport.close()
    return sent_by(protocol, agent_address), knocks


def sent_by(packets: Packets, address: str) -> list[bytes]:
    return [
        data
        for (_, data), sender in zip(packets.received, packets.senders, strict=True)
        if sender == address
    ]


def token_origin(token: str, keys: dict[str, bytes], epochs: range) -> tuple[str, int]:
    """Whose advertising key made a token, and for which epoch (what only partners can tell)."""
    raw = Advert.token_from_text(token[2:])
    nonce, tag = raw[:NONCE_LEN], raw[NONCE_LEN:]
    for who, key in keys.items():
        for epoch in epochs:
            for flags in (0, FLAG_OPEN_TO_PAIRING):
                if compute_tag(key, ADVERT_VERSION, flags, epoch, nonce) == tag:
                    return who, epoch
    raise AssertionError(f"{token} was made by no agent of this test")


@pytest.mark.parametrize("lab", [3], indirect=True)
@pytest.mark.parametrize("pairing_open", [False, True], ids=["pairing-closed", "pairing-open"])
def test_a_stranger_who_knocks_on_every_port_links_no_two_epochs_and_partners_connect(
    lab: Lab, tmp_path: Path, pairing_open: bool
) -> None:
    """A real agent on the LAN for three epochs; the stranger records every mDNS packet and
    connects to every port the agent advertises with every handshake it can make (XX, IK to a
    guessed key, IKpsk1 with a guessed psk), joining what it gets back to the port, so to the
    advert. Whatever it learns links no two epochs: nothing comes back with pairing closed, and
    while the owner has pairing open (the rest of one epoch) the identity comes back only for
    that window's adverts. A partner reaches the agent in every epoch."""
    from test_agent_netns import Device, pair

    agent_node, stranger_node, partner_node = lab.nodes
    alice = Device(lab.loop(agent_node), tmp_path / "alice")
    bob = Device(lab.loop(partner_node), tmp_path / "bob")
    pair(alice, bob)
    keys = {
        "alice": alice.call(alice.owner.advertising.own_key),
        "bob": bob.call(bob.owner.advertising.own_key),
    }
    stop = threading.Event()
    recording = lab.loop(stranger_node).submit(
        record_and_knock(stranger_node.address, agent_node.address, stop)
    )
    time.sleep(0.3)  # the stranger listens before the agent starts

    async def decline(code: str, fingerprint: str) -> str | None:
        return None

    reached: list[int] = []
    try:
        alice_agent = alice.start(period=AGENT_PERIOD, on_pairing=decline)
        bob_agent = bob.start(period=AGENT_PERIOD)
        alice_id = alice_agent.identity.public_key
        first = epoch_of(time.time(), AGENT_PERIOD) + 1
        for epoch in range(first, first + PERIODS):
            time.sleep(max(0.0, epoch * AGENT_PERIOD - time.time()) + 0.5)
            if pairing_open and epoch == first + 1:  # for the rest of this epoch

                async def open_for_the_rest(epoch: int = epoch) -> None:
                    # Measured on the agent's loop just before the call: measured earlier, on
                    # a loaded machine, the window reached into the next epoch, whose adverts
                    # then showed pairing open too (and so were linkable to this one).
                    await alice_agent.open_to_pairing((epoch + 1) * AGENT_PERIOD - time.time())

                alice.loop.run(open_for_the_rest())

            async def reach() -> int:
                await bob_agent.wait_for_partner(alice_id, timeout=AGENT_PERIOD)
                session = await bob_agent.connect(alice_id)
                await session.channel.close()
                return epoch_of(time.time(), AGENT_PERIOD)

            reached.append(bob.loop.run(reach(), timeout=2 * AGENT_PERIOD))
        time.sleep(1.0)  # the last epoch's announcements reach the stranger
    finally:
        stop.set()
        packets, knocks = recording.result(timeout=60)
        alice.stop()
        bob.stop()

    assert len(reached) == PERIODS and reached == sorted(reached)  # the partner, every time
    answered = [k for k in knocks if k.reply]
    if not pairing_open:
        assert answered == []  # not one byte, to any attempt, on any port
    else:
        assert answered and {(k.attempt, k.identity) for k in answered} == {("XX", alice_id)}

    shared = SHARED | {f"p={FLAG_OPEN_TO_PAIRING:x}"}  # the flag every open agent shows
    hosts = {node.address for node in lab.nodes}
    links = Links()
    for data in packets:  # the agent's own (a partner's browser has its own test to come)
        values = packet_values(data) - shared - hosts
        if any(v.endswith(SERVICE_TYPE) or v.startswith("t=") for v in values):
            links.join(values)
    for k in knocks:  # the reply's bytes and what they revealed, joined to the port knocked on
        windows = {k.reply[i : i + 8].hex() for i in range(HEADER_LEN, len(k.reply) - 7)}
        links.join({f"port={k.port}", *windows, *([k.identity.hex()] if k.identity else [])})

    epochs = range(first - 3, first + PERIODS + 2)
    seen_epochs = set()
    for group in links.groups():
        origins = {token_origin(v, keys, epochs) for v in group if v.startswith("t=")}
        assert len(origins) <= 1, f"linkable across epochs: {sorted(origins)} by {sorted(group)}"
        seen_epochs |= {epoch for who, epoch in origins if who == "alice"}
        if alice_id.hex() in group:  # what pairing revealed stays inside its window
            assert origins == {("alice", first + 1)}
    assert set(range(first, first + PERIODS)) <= seen_epochs
