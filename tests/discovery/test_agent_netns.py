"""Two agents on a private LAN: they find each other as partners, connect, swap advertising keys,
and a pulled cable takes the partner out of the directory through keepalives, not mDNS TTLs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import pytest
from conftest import FAST_KDF
from netns import Lab, NodeLoop

from edge_dan.agent import Agent, AgentError, PartnerSession
from edge_dan.agent.negotiations import AgendaHandler
from edge_dan.agent.pairing import AskOwner
from edge_dan.discovery.directory import Removed
from edge_dan.discovery.tokens import DEFAULT_PERIOD
from edge_dan.owner import Owner
from edge_dan.pairing.result import PairingResult
from edge_dan.wire.session import SessionLimits

P = ParamSpec("P")
T = TypeVar("T")
pytestmark = pytest.mark.slow
LIMITS = SessionLimits(handshake_timeout=5.0, keepalive_interval=0.5, dead_peer_intervals=3)


class Device:
    """One agent's device: the owner's data and an agent living on one namespace's event loop
    thread."""

    def __init__(self, loop: NodeLoop, home: Path) -> None:
        self.loop = loop
        self.sessions: list[PartnerSession] = []

        async def make() -> Owner:
            return Owner.create(home, "passphrase", kdf=FAST_KDF.with_new_salt())

        self.owner = loop.run(make())
        self.agent: Agent | None = None

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` (reading or writing the owner's data) on the device's thread (SQLite
        connections stay on theirs)."""

        async def run() -> T:
            return fn(*args, **kwargs)

        return self.loop.run(run())

    def start(
        self,
        period: float = DEFAULT_PERIOD,
        on_agenda: AgendaHandler | None = None,
        on_pairing: AskOwner | None = None,
    ) -> Agent:
        async def on_session(session: PartnerSession) -> None:
            self.sessions.append(session)
            await session.channel.wait_closed()

        async def start() -> Agent:
            agent = Agent(
                self.owner,
                on_session=None if on_agenda else on_session,
                on_agenda=on_agenda,
                on_pairing=on_pairing,
                limits=LIMITS,
                period=period,
            )
            await agent.start()
            return agent

        self.agent = self.loop.run(start())
        return self.agent

    def stop(self) -> None:
        if self.agent is not None:
            self.loop.run(self.agent.stop())

        async def close() -> None:
            self.owner.close()

        self.loop.run(close())


def pair(a: Device, b: Device) -> None:
    """What a completed pairing session leaves in both stores, advertising keys included."""
    for me, other in ((a, b), (b, a)):
        identity = other.call(other.owner.identity.ensure)
        result = PairingResult("numeric", identity.static_public_key, bytes(32), bytes(64))
        me.call(me.owner.peers.add, identity.public_key, result, "partner")
        key = other.call(other.owner.advertising.own_key)
        me.call(me.owner.advertising.set_partner_key, identity.public_key, key)


def test_partners_find_each_other_connect_and_a_cut_link_removes_them(
    lab: Lab, tmp_path: Path
) -> None:
    alice = Device(lab.loop(lab.nodes[0]), tmp_path / "alice")
    bob = Device(lab.loop(lab.nodes[1]), tmp_path / "bob")
    pair(alice, bob)
    # Alice rotates her key before starting (as an unpairing elsewhere would): Bob holds a stale
    # one until their next session hands him the new key.
    alice.call(alice.owner.advertising.rotate)
    try:
        alice_agent, bob_agent = alice.start(), bob.start()
        bob_id = bob_agent.identity.public_key
        alice_id = alice_agent.identity.public_key

        async def find_and_connect() -> PartnerSession:
            entry = await alice_agent.wait_for_partner(bob_id, timeout=15)
            assert entry.name == "partner" and entry.preferred.transport == "lan"
            return await alice_agent.connect(bob_id)

        session = alice.loop.run(find_and_connect(), timeout=30)
        assert session.peer.identity_key == bob_id
        # Bob accepted it as a partner session and now holds Alice's new advertising key.
        deadline = time.monotonic() + 10
        while not bob.sessions and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bob.sessions and bob.sessions[0].peer.identity_key == alice_id
        bob_keys = bob.call(bob.owner.advertising.partner_keys)
        assert bob_keys[alice_id] == alice.call(alice.owner.advertising.own_key)

        async def wait_removed() -> float:
            start = time.monotonic()
            async for event in alice_agent.events():
                if isinstance(event, Removed) and event.entry.identity_key == bob_id:
                    return time.monotonic() - start
            raise AssertionError("unreachable")

        # Drain what discovery reported so far, then pull Bob's cable.
        async def drain() -> None:
            while True:
                try:
                    await asyncio.wait_for(anext(alice_agent.events()), timeout=0.2)
                except TimeoutError:
                    return

        alice.loop.run(drain())
        removed = alice.loop.submit(wait_removed())
        lab.cut(lab.nodes[1])
        took = removed.result(timeout=5 * LIMITS.dead_peer_timeout + 5)
        assert took < 5 * LIMITS.dead_peer_timeout
        assert alice_agent.directory.partner(bob_id) is None
    finally:
        lab.restore(lab.nodes[1])
        alice.stop()
        bob.stop()


def test_a_stranger_is_refused(lab: Lab, tmp_path: Path) -> None:
    """An agent that is not paired cannot complete a handshake: it never sees the static key or
    the identity (pairing is closed), and the agent keeps no trace of it."""
    from edge_dan.identity import Identity
    from edge_dan.transports.tcp import connect
    from edge_dan.wire.errors import ProtocolError
    from edge_dan.wire.session import Role, Session

    alice = Device(lab.loop(lab.nodes[0]), tmp_path / "alice")
    try:
        agent = alice.start()
        port = agent.port
        stranger_loop = lab.loop(lab.nodes[1])

        async def knock() -> None:
            with pytest.raises(ProtocolError):
                await connect(
                    lab.nodes[0].address,
                    port,
                    lambda now: Session(Role.INITIATOR, Identity.generate(), now=now, pattern="XX"),
                )

        stranger_loop.run(knock())
        assert alice.sessions == []
        assert alice.call(alice.owner.peers.list) == []
    finally:
        alice.stop()


def test_the_listening_port_rotates_with_the_advertisement(lab: Lab, tmp_path: Path) -> None:
    """A fixed port would link one period's advert to the next; the previous one still answers."""
    alice = Device(lab.loop(lab.nodes[0]), tmp_path / "alice")
    bob = Device(lab.loop(lab.nodes[1]), tmp_path / "bob")
    pair(alice, bob)
    try:
        agent = alice.start(period=1.0)
        ports = {agent.port}
        deadline = time.monotonic() + 10
        while len(ports) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
            ports.add(agent.port)
        assert len(ports) >= 3
        bob_agent = bob.start(period=1.0)

        async def connect_to_current_partner() -> bytes:
            alice_id = alice.call(alice.owner.identity.ensure).public_key
            await bob_agent.wait_for_partner(alice_id, timeout=15)
            session = await bob_agent.connect(alice_id)
            await session.channel.close()
            return session.peer.identity_key

        assert bob.loop.run(connect_to_current_partner(), timeout=30) == agent.identity.public_key
    finally:
        alice.stop()
        bob.stop()


def test_two_strangers_pair_over_the_lan_and_then_know_each_other(lab: Lab, tmp_path: Path) -> None:
    """Bob opens pairing; Alice sees a stranger open to pairing, both owners compare six digits,
    and from then on each recognises the other as a partner, advertising keys included."""
    alice = Device(lab.loop(lab.nodes[0]), tmp_path / "alice")
    bob = Device(lab.loop(lab.nodes[1]), tmp_path / "bob")
    codes: dict[str, str] = {}

    def owner(who: str, name: str | None) -> AskOwner:
        async def ask(code: str, fingerprint: str) -> str | None:
            codes[who] = code
            return name

        return ask

    try:
        alice_agent = alice.start()
        bob_agent = bob.start(on_pairing=owner("bob", "Alice"))
        bob.loop.run(bob_agent.open_to_pairing(60.0))

        async def find_and_pair() -> bytes:
            async with asyncio.timeout(20):
                while True:
                    open_ones = [e for e in alice_agent.directory.entries() if e.open_to_pairing]
                    if open_ones:
                        break
                    await asyncio.sleep(0.1)
            peer = await alice_agent.pair(open_ones[0].key, owner("alice", "Bob"))
            await alice_agent.wait_for_partner(peer.identity_key, timeout=10)
            return peer.identity_key

        bob_id = alice.loop.run(find_and_pair(), timeout=60)
        assert bob_id == bob_agent.identity.public_key
        assert len(codes["alice"]) == 6 and codes["alice"] == codes["bob"]
        alice_id = alice_agent.identity.public_key
        assert [p.name for p in alice.call(alice.owner.peers.list)] == ["Bob"]
        assert [p.name for p in bob.call(bob.owner.peers.list)] == ["Alice"]
        # Both hold each other's advertising key: each recognises the other in the directory.
        assert bob.call(bob.owner.advertising.partner_keys)[alice_id] == alice.call(
            alice.owner.advertising.own_key
        )
        partner = alice_agent.directory.partner(bob_id)
        assert partner is not None and partner.name == "Bob"
    finally:
        alice.stop()
        bob.stop()


def test_a_declining_owner_leaves_both_stores_unchanged(lab: Lab, tmp_path: Path) -> None:
    alice = Device(lab.loop(lab.nodes[0]), tmp_path / "alice")
    bob = Device(lab.loop(lab.nodes[1]), tmp_path / "bob")

    async def decline(code: str, fingerprint: str) -> str | None:
        return None

    async def accept(code: str, fingerprint: str) -> str | None:
        return "Bob"

    try:
        alice_agent = alice.start()
        bob_agent = bob.start(on_pairing=decline)
        bob.loop.run(bob_agent.open_to_pairing(60.0))

        async def attempt() -> str:
            async with asyncio.timeout(20):
                while not [e for e in alice_agent.directory.entries() if e.open_to_pairing]:
                    await asyncio.sleep(0.1)
            entry = next(e for e in alice_agent.directory.entries() if e.open_to_pairing)
            with pytest.raises(AgentError):
                await alice_agent.pair(entry.key, accept)
            return str(alice_agent.failures[-1].error)

        why = alice.loop.run(attempt(), timeout=60)
        assert "declined" in why
        assert alice.call(alice.owner.peers.list) == []
        assert bob.call(bob.owner.peers.list) == []
    finally:
        alice.stop()
        bob.stop()
