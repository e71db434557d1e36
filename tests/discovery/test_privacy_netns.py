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
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Iterable

import pytest
from netns import Lab
from zeroconf import DNSAddress, DNSIncoming, DNSPointer, DNSService, DNSText

from edge_dan.ble.backends.bumble import BumbleCentral, BumblePeripheral
from edge_dan.ble.backends.sim import new_link, powered_device
from edge_dan.ble.gatt import AGENT_SERVICE
from edge_dan.discovery.ble import BleAdvertiser, BleScanner, BleSighting
from edge_dan.discovery.mdns import CAP_NEGOTIATE, CAP_PAIR, SERVICE_TYPE, MdnsAdvertiser
from edge_dan.discovery.tokens import Advert, Recogniser, TokenRotator, new_advertising_key

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

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append((time.time(), data))


async def record_mdns(interface_address: str, seconds: float) -> list[tuple[float, bytes]]:
    """Every mDNS packet that reaches this namespace's interface for ``seconds``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("", 5353))
    membership = struct.pack(
        "4s4s", socket.inet_aton(MDNS_GROUP), socket.inet_aton(interface_address)
    )
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(Packets, sock=sock)
    try:
        await asyncio.sleep(seconds)
    finally:
        transport.close()
    return protocol.received


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
