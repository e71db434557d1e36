"""mDNS discovery for real: agents in separate network namespaces on one bridge, real multicast.

Each agent runs an ``MdnsAdvertiser`` and an ``MdnsBrowser`` on an event loop inside its own
namespace (see ``netns.py``); the test thread waits on what the browsers report.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from netns import Lab, NetnsUnavailable, Node, NodeLoop, Recorder
from zeroconf import ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from edge_dan.discovery.mdns import (
    SERVICE_TYPE,
    MdnsAdvertiser,
    MdnsBrowser,
    MdnsPeer,
    PeerAdded,
    PeerEvent,
    PeerRemoved,
    PeerUpdated,
    build_txt,
)
from edge_dan.discovery.tokens import Advert, Recogniser, TokenRotator, new_advertising_key

pytestmark = pytest.mark.slow
DISCOVERY_WAIT = 10.0  # generous: probing alone takes ~1 s, and CI machines are slow
GOODBYE_WAIT = 2.0  # the bound, counted once the goodbye is on the wire


@dataclass
class Agent:
    """One device: its loop, its advertising key, its advertiser and browser, what it saw."""

    node: Node
    loop: NodeLoop
    key: bytes
    advertiser: MdnsAdvertiser
    browser: MdnsBrowser
    events: Recorder[PeerEvent]

    def stop_advertising(self) -> float:
        """Stop advertising (goodbye included); the monotonic time at which stop() returned."""
        self.loop.run(self.advertiser.stop())
        return time.monotonic()

    def stop(self) -> None:
        self.loop.run(self.astop())

    async def astop(self) -> None:
        await self.browser.stop()
        await self.advertiser.stop()


def start_agent(
    lab: Lab,
    node: Node,
    port: int | Callable[[int], int],
    *,
    period: float = 900.0,
    interfaces: list[str] | None = None,
) -> Agent:
    loop = lab.loop(node)
    key = new_advertising_key()
    events: Recorder[PeerEvent] = Recorder()

    async def start() -> tuple[MdnsAdvertiser, MdnsBrowser]:
        rotator = TokenRotator(key, period=period)
        advertiser = MdnsAdvertiser(rotator, port, interfaces=interfaces)
        browser = MdnsBrowser(own=advertiser, on_event=events, interfaces=interfaces)
        await browser.start()
        await advertiser.start()
        return advertiser, browser

    advertiser, browser = loop.run(start())
    agent = Agent(node, loop, key, advertiser, browser, events)
    loop.on_close(agent.astop)  # a failed test leaves nothing open either
    return agent


def added_from(address: str) -> Callable[[PeerEvent], bool]:
    return lambda e: isinstance(e, PeerAdded) and e.peer.addresses == (address,)


def removed(instance: str) -> Callable[[PeerEvent], bool]:
    return lambda e: isinstance(e, PeerRemoved) and e.peer.instance == instance


@pytest.mark.parametrize("lab", [3], indirect=True)
def test_three_agents_discover_each_other_and_goodbye_removes_within_2s(lab: Lab) -> None:
    ports = [41000, 42000, 43000]
    agents = [start_agent(lab, node, port) for node, port in zip(lab.nodes, ports, strict=True)]
    partners = Recogniser({bytes([i]): agent.key for i, agent in enumerate(agents)})
    for i, me in enumerate(agents):
        for j, other in enumerate(agents):
            if i == j:
                continue
            _, event = me.events.wait_for(added_from(other.node.address), DISCOVERY_WAIT)
            assert isinstance(event, PeerAdded)
            assert event.peer.port == ports[j]
            assert event.peer.addresses == (other.node.address,)
            assert event.peer.instance == other.advertiser.instance_name
            assert event.peer.host == other.advertiser.host_name
            assert partners.recognise(event.peer.advert, time.time()) == bytes([j])
    # Nobody lists itself, nobody saw anything but the other two.
    for me in agents:
        seen = {e.peer.addresses for e in me.events.items()}
        assert seen == {(o.node.address,) for o in agents if o is not me}

    leaving = agents[2]
    instance = leaving.advertiser.instance_name
    assert instance is not None
    goodbye_sent = leaving.stop_advertising()
    for stayer in agents[:2]:
        # Without the goodbye, zeroconf would keep the peer for about 19 minutes.
        arrived, _ = stayer.events.wait_for(removed(instance), GOODBYE_WAIT)
        assert arrived - goodbye_sent < GOODBYE_WAIT
    for agent in agents:
        agent.stop()


def test_a_silent_death_is_not_noticed_through_mdns(lab: Lab) -> None:
    """The goodbye is what removes a peer: one whose goodbye is lost stays listed (liveness
    must come from session keepalives), which also shows the removal above was the goodbye."""
    watcher, victim = (start_agent(lab, node, 44000 + node.index) for node in lab.nodes)
    watcher.events.wait_for(added_from(victim.node.address), DISCOVERY_WAIT)
    lab.cut(victim.node)  # the goodbye below goes nowhere
    victim.stop_advertising()
    lab.restore(victim.node)
    time.sleep(3.0)
    assert not any(isinstance(e, PeerRemoved) for e in watcher.events.items())
    assert len(watcher.browser.peers) == 1
    watcher.stop()
    victim.stop()


def test_rotation_changes_every_name_and_partner_still_recognises(lab: Lab) -> None:
    period = 3.0
    ports = iter(range(45000, 45100))
    rotating = start_agent(lab, lab.nodes[0], lambda generation: next(ports), period=period)
    observer = start_agent(lab, lab.nodes[1], 46000)
    partner = Recogniser({b"rotating": rotating.key}, period=period)
    address = rotating.node.address

    def published_by_rotating(e: PeerEvent) -> bool:
        return e.peer.addresses == (address,)

    # Follow three consecutive advertisements: each one removed (goodbye) before the next comes.
    seen: list[MdnsPeer] = []
    deadline = time.monotonic() + 4 * period + 3 * DISCOVERY_WAIT
    while len(seen) < 3:
        arrived, event = observer.events.wait_for(
            lambda e: (
                isinstance(e, PeerAdded)
                and published_by_rotating(e)
                and e.peer.instance not in {p.instance for p in seen}
            ),
            max(0.1, deadline - time.monotonic()),
        )
        seen.append(event.peer)
        # Recognised when it arrived (the test may look at it a couple of epochs later).
        arrived_wall = arrived + time.time() - time.monotonic()
        assert partner.recognise(event.peer.advert, arrived_wall) == b"rotating"
        if len(seen) > 1:
            observer.events.wait_for(removed(seen[-2].instance), DISCOVERY_WAIT)
    for field in ("instance", "host", "port"):
        assert len({getattr(peer, field) for peer in seen}) == 3, field
    assert len({peer.advert.token for peer in seen}) == 3
    stranger = Recogniser({b"someone else": new_advertising_key()}, period=period)
    assert all(stranger.recognise(peer.advert, time.time()) is None for peer in seen)
    assert all(isinstance(e, PeerAdded | PeerRemoved) for e in observer.events.items())
    observer.stop()
    rotating.stop()


def test_open_to_pairing_is_a_rotation_with_the_flag_set(lab: Lab) -> None:
    owner = start_agent(lab, lab.nodes[0], 47000, interfaces=["eth0"])
    observer = start_agent(lab, lab.nodes[1], 47001, interfaces=[lab.nodes[1].address])
    _, first = observer.events.wait_for(added_from(owner.node.address), DISCOVERY_WAIT)
    assert not first.peer.advert.open_to_pairing
    owner.loop.run(owner.advertiser.open_to_pairing(60.0))
    _, opened = observer.events.wait_for(
        lambda e: added_from(owner.node.address)(e) and e.peer.advert.open_to_pairing,
        DISCOVERY_WAIT,
    )
    assert opened.peer.instance != first.peer.instance
    assert opened.peer.advert.token != first.peer.advert.token
    observer.events.wait_for(removed(first.peer.instance), DISCOVERY_WAIT)
    partner = Recogniser({b"owner": owner.key})
    assert partner.recognise(opened.peer.advert, time.time()) == b"owner"
    observer.stop()
    owner.stop()


# -- hostile publishers ---------------------------------------------------------------------------

VALID = build_txt(Advert(1, 0, bytes(range(12))))
HOSTILE: dict[str, dict[bytes, bytes | None]] = {
    "short-token": {**{k.encode(): v.encode() for k, v in VALID.items()}, b"t": b"a" * 19},
    "long-token": {**{k.encode(): v.encode() for k, v in VALID.items()}, b"t": b"a" * 21},
    "bad-base32": {**{k.encode(): v.encode() for k, v in VALID.items()}, b"t": b"0189" * 5},
    "unknown-version": {**{k.encode(): v.encode() for k, v in VALID.items()}, b"v": b"2"},
    "no-token": {k.encode(): v.encode() for k, v in VALID.items() if k != "t"},
    "no-version": {k.encode(): v.encode() for k, v in VALID.items() if k != "v"},
    "token-without-value": {**{k.encode(): v.encode() for k, v in VALID.items()}, b"t": None},
    "bad-flag": {**{k.encode(): v.encode() for k, v in VALID.items()}, b"p": b"yes"},
    "bad-capabilities": {**{k.encode(): v.encode() for k, v in VALID.items()}, b"c": b"XYZ"},
    "binary": {**{k.encode(): v.encode() for k, v in VALID.items()}, b"t": b"\xff\xfe" * 10},
    "huge": {
        **{k.encode(): b"7" * 250 for k in VALID},
        **{f"x{i}".encode(): os.urandom(100) for i in range(30)},
    },
    "empty": {},
}


def _hostile_info(label: str, properties: dict[bytes, bytes | None], address: str) -> ServiceInfo:
    return ServiceInfo(
        SERVICE_TYPE,
        f"{label}.{SERVICE_TYPE}",
        port=48000,
        properties=properties,
        server=f"{label}.local.",
        parsed_addresses=[address],
    )


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_hostile_txt_records_are_ignored_and_the_browser_carries_on(lab: Lab) -> None:
    mdns_log = logging.getLogger("edge_dan.discovery.mdns")
    lines, level = _Lines(), mdns_log.level
    mdns_log.addHandler(lines)
    mdns_log.setLevel(logging.DEBUG)
    try:
        observer = start_agent(lab, lab.nodes[1], 48001)
        hostile_node = lab.nodes[0]
        publisher = lab.loop(hostile_node)
        aiozc = publisher.run(_zeroconf_on(hostile_node.address))
        infos = [_hostile_info(label, p, hostile_node.address) for label, p in HOSTILE.items()]
        publisher.run(_register_all(aiozc, infos))
        # Every hostile record reached the browser and was turned away.
        deadline = time.monotonic() + DISCOVERY_WAIT
        while not all(
            any(f"ignoring {label}." in line for line in lines.lines) for label in HOSTILE
        ):
            assert time.monotonic() < deadline, f"not all hostile records seen: {lines.lines}"
            time.sleep(0.05)
        assert observer.events.items() == []

        # A valid advertisement from the same publisher still gets through...
        good = _hostile_info("good", {k.encode(): v.encode() for k, v in VALID.items()},
                             hostile_node.address)  # fmt: skip
        publisher.run(_register_all(aiozc, [good]))
        _, added = observer.events.wait_for(lambda e: isinstance(e, PeerAdded), DISCOVERY_WAIT)
        assert added.peer.instance == good.name and added.peer.port == 48000
        # A valid change of its TXT is an update...
        fresh = {**VALID, "t": Advert(1, 0, bytes(12)).token_text()}
        changed = _hostile_info("good", {k.encode(): v.encode() for k, v in fresh.items()},
                                hostile_node.address)  # fmt: skip
        publisher.run(_update(aiozc, changed))
        _, updated = observer.events.wait_for(lambda e: isinstance(e, PeerUpdated), DISCOVERY_WAIT)
        assert updated.peer.instance == good.name and updated.peer.advert.token == bytes(12)
        # ...and when it turns malformed, the peer is dropped rather than kept with stale data.
        spoiled = _hostile_info("good", HOSTILE["bad-base32"], hostile_node.address)
        publisher.run(_update(aiozc, spoiled))
        observer.events.wait_for(removed(good.name), DISCOVERY_WAIT)
        assert [type(e) for e in observer.events.items()] == [PeerAdded, PeerUpdated, PeerRemoved]
        publisher.run(aiozc.async_close())
        observer.stop()
    finally:
        mdns_log.removeHandler(lines)
        mdns_log.setLevel(level)


async def _zeroconf_on(address: str) -> AsyncZeroconf:
    return AsyncZeroconf(interfaces=[address])


async def _register_all(aiozc: AsyncZeroconf, infos: list[ServiceInfo]) -> None:
    announcements = await asyncio.gather(*(aiozc.async_register_service(i) for i in infos))
    await asyncio.gather(*announcements)


async def _update(aiozc: AsyncZeroconf, info: ServiceInfo) -> None:
    await (await aiozc.async_update_service(info))


# -- the lab itself -----------------------------------------------------------------------------


def _host_links() -> set[str]:
    shown = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True, check=True)
    return {link["ifname"] for link in json.loads(shown.stdout)}


def _namespaces() -> set[str]:
    shown = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split(" ")[0] for line in shown.stdout.splitlines() if line}


def _use_then_fail(lab: Lab, host_links: set[str]) -> None:
    with lab:
        assert _host_links() == host_links  # nothing was created on the host
        assert {lab.hub, *(n.netns for n in lab.nodes)} <= _namespaces()
        a, b = lab.nodes
        ping = [sys.executable, "-c", PING, b.address]
        assert lab.exec(a, ping, check=False).returncode == 0
        lab.cut(b)
        assert lab.exec(a, ping, check=False).returncode != 0
        lab.restore(b)
        assert lab.exec(a, ping, check=False).returncode == 0
        raise RuntimeError("a test failed here")


def test_the_lab_stays_off_the_host_and_is_removed_even_after_a_failure() -> None:
    lab = Lab(2)
    try:
        with pytest.raises(RuntimeError, match="a test failed here"):
            _use_then_fail(lab, _host_links())
    except NetnsUnavailable as why:
        pytest.skip(str(why))
    assert not {n for n in _namespaces() if n.startswith(lab.prefix)}
    assert Lab(1).prefix != lab.prefix  # every lab has its own names


# One UDP datagram to port 9 (discard) draws an ICMP "port unreachable" from a live peer, which
# Linux reports on a connected socket as ConnectionRefusedError: a ping without the ping tool.
PING = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
s.connect((sys.argv[1], 9))
for _ in range(3):
    s.send(b"?")
    try:
        s.recv(1)
    except ConnectionRefusedError:
        sys.exit(0)
    except TimeoutError:
        pass
sys.exit(1)
"""
