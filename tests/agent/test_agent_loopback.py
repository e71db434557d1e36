"""The Agent end to end on an ordinary machine: no root, no namespace, no multicast.

Agents in one process find each other through a ``LoopbackHub`` and talk over real TCP sockets
on 127.0.0.1 with the real handshake: strangers pair by numeric comparison (both owners answer),
partners recognise each other, connect, swap advertising keys, negotiate and keep the same
signed accord; strangers are refused; failures are typed and bounded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
from conftest import FAST_KDF

from edge_dan.agent import Agent, AgentError, PartnerSession
from edge_dan.agent.core import MAX_FAILURES
from edge_dan.agent.networks import LoopbackHub, LoopbackNetwork
from edge_dan.agent.pairing import AskOwner
from edge_dan.discovery.directory import Removed
from edge_dan.negotiation.domain.outcomes import DiscreteIssue, OutcomeSpace, Value
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility, Profile
from edge_dan.negotiation.strategy import LittleDan
from edge_dan.owner import Owner
from edge_dan.owner.peers import Peer
from edge_dan.transports import tcp
from edge_dan.wire.errors import SessionClosed
from edge_dan.wire.messages import CloseCode
from edge_dan.wire.session import Role, Session, SessionLimits

LIMITS = SessionLimits(handshake_timeout=5.0, keepalive_interval=0.5, dead_peer_intervals=3)
SPACE = OutcomeSpace([DiscreteIssue("dinner", ("pizza", "curry", "salad"))])
TASTES: dict[str, dict[Value, float]] = {
    "alice": {"pizza": 3.0, "curry": 2.0, "salad": 0.0},
    "bob": {"pizza": 0.0, "curry": 3.0, "salad": 2.0},
}


def strategy(who: str, space: OutcomeSpace) -> LittleDan:
    utility = LinearAdditiveUtility(space, {"dinner": 1.0}, {"dinner": TASTES[who]})
    return LittleDan(Profile(space, utility, reservation_value=0.2))


def owner_says(name: str | None, codes: list[str]) -> AskOwner:
    """An owner who notes the six digits shown and answers with ``name`` (None: declines)."""

    async def ask(code: str, fingerprint: str) -> str | None:
        codes.append(code)
        return name

    return ask


class Home:
    """One person's device: the owner's encrypted data and the agent on it."""

    def __init__(self, who: str, tmp_path: Path) -> None:
        self.who = who
        self.owner = Owner.create(tmp_path / who, "passphrase", kdf=FAST_KDF.with_new_salt())
        self.codes: list[str] = []
        self.sessions: list[PartnerSession] = []
        self.agent: Agent


@asynccontextmanager
async def running(
    homes: list[Home], *, accept_pairing: bool = True, period: float = 900.0
) -> AsyncIterator[LoopbackHub]:
    hub = LoopbackHub()
    async with AsyncExitStack() as stack:
        for home in homes:

            def on_agenda(
                peer: Peer, title: str, space: OutcomeSpace, who: str = home.who
            ) -> LittleDan:
                return strategy(who, space)

            name = homes[0].who if home is not homes[0] else homes[-1].who
            home.agent = Agent(
                home.owner,
                networks=[LoopbackNetwork(hub)],
                on_agenda=on_agenda,
                on_pairing=owner_says(name.title() if accept_pairing else None, home.codes),
                limits=LIMITS,
                period=period,
            )
            await stack.enter_async_context(home.agent)
        yield hub
    for home in homes:
        home.owner.close()


async def until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def pair_them(alice: Home, bob: Home) -> Peer:
    """Bob opens pairing; Alice sees him as a stranger open to pairing and pairs."""
    await bob.agent.open_to_pairing(60.0)
    offer = await alice.agent.wait_for_pairing_offer(timeout=10)
    assert offer.open_to_pairing and not offer.partner
    return await alice.agent.pair(offer.key, owner_says("Bob", alice.codes))


async def partners(alice: Home, bob: Home) -> bytes:
    """Pair them, and wait until Alice sees Bob as her partner nearby; Bob's identity key."""
    await pair_them(alice, bob)
    bob_id = bob.agent.identity.public_key
    await alice.agent.wait_for_partner(bob_id, timeout=10)
    return bob_id


def run(work: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(work, timeout=60))


def test_strangers_pair_by_numeric_comparison_then_find_and_reach_each_other(
    tmp_path: Path,
) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        async with running([alice, bob]):
            peer = await pair_them(alice, bob)
            bob_id = bob.agent.identity.public_key
            alice_id = alice.agent.identity.public_key
            assert peer.identity_key == bob_id
            # Both owners were shown the same six digits.
            assert len(alice.codes[0]) == 6 and alice.codes == bob.codes
            assert [p.name for p in alice.owner.peers.list()] == ["Bob"]
            assert [p.name for p in bob.owner.peers.list()] == ["Alice"]
            # Advertising keys were swapped in the pairing session: each recognises the other.
            assert (
                bob.owner.advertising.partner_keys()[alice_id] == alice.owner.advertising.own_key()
            )
            entry = await alice.agent.wait_for_partner(bob_id, timeout=10)
            assert entry.name == "Bob" and entry.preferred.transport == "lan"
            session = await alice.agent.connect(bob_id)
            assert session.peer.identity_key == bob_id and session.via == "lan"
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


def test_a_stranger_is_refused_when_pairing_is_closed(tmp_path: Path) -> None:
    alice, mallory = Home("alice", tmp_path), Home("mallory", tmp_path)

    async def scenario() -> None:
        async with running([alice]):

            def initiator(now: float) -> Session:
                return Session(Role.INITIATOR, mallory_identity, now=now, pattern="XX")

            channel = await tcp.connect("127.0.0.1", alice.agent.port, initiator)
            with pytest.raises(SessionClosed) as closed:
                await channel.receive()
            assert closed.value.code == CloseCode.REFUSED
            assert alice.owner.peers.list() == []

    mallory_identity = mallory.owner.identity.ensure()
    run(scenario())
    mallory.owner.close()


def test_partners_negotiate_and_keep_the_same_signed_accord(tmp_path: Path) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        async with running([alice, bob]):
            bob_id = await partners(alice, bob)
            result = await alice.agent.negotiate(
                [bob_id], "Friday dinner", SPACE, strategy("alice", SPACE), timeout=20
            )
            assert result.failure is None and result.accord is not None
            result.accord.verify()
            # Curry is the one outcome above both reservation values with the best product.
            assert dict(result.accord.outcome)["dinner"] == "curry"
            await until(lambda: bob.owner.accords.list(binding_only=True))
            for home in (alice, bob):
                stored = home.owner.accords.list(binding_only=True)
                assert [s.accord.to_bytes() for s in stored] == [result.accord.to_bytes()]

    run(scenario())


def test_a_partner_that_stops_leaves_the_directory_at_once(tmp_path: Path) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)

    async def scenario() -> None:
        async with running([alice, bob]):
            bob_id = await partners(alice, bob)
            events = alice.agent.events()
            await bob.agent.stop()  # the goodbye withdraws its advert
            async with asyncio.timeout(10):
                while True:
                    event = await anext(events)
                    if isinstance(event, Removed) and event.entry.identity_key == bob_id:
                        break
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
