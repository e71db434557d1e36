"""People's devices with an Agent on each, for the agent tests of every network (loopback, BLE).

A ``Home`` is one person: the owner's encrypted data (a quick KDF) and the agent on it. ``agents``
starts an agent per home on the networks the test gives; each agrees to pair under the other
home's name (or declines), notes the six digits it was shown, and answers negotiations with its
own taste in dinners (``strategy``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from conftest import FAST_KDF

from edge_dan.agent import Agent, PartnerSession
from edge_dan.agent.networks import Network
from edge_dan.agent.pairing import AskOwner
from edge_dan.discovery.directory import DirectoryEvent, PeerEntry, Removed, Transport
from edge_dan.negotiation.domain.outcomes import DiscreteIssue, OutcomeSpace, Value
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility, Profile
from edge_dan.negotiation.strategy import LittleDan, Policy
from edge_dan.owner import Owner
from edge_dan.owner.peers import Peer
from edge_dan.wire.session import SessionLimits

SPACE = OutcomeSpace([DiscreteIssue("dinner", ("pizza", "curry", "salad"))])
TASTES: dict[str, dict[Value, float]] = {
    "alice": {"pizza": 3.0, "curry": 2.0, "salad": 0.0},
    "bob": {"pizza": 0.0, "curry": 3.0, "salad": 2.0},
}


def strategy(who: str, space: OutcomeSpace, policy: Policy | None = None) -> LittleDan:
    utility = LinearAdditiveUtility(space, {"dinner": 1.0}, {"dinner": TASTES[who]})
    return LittleDan(Profile(space, utility, reservation_value=0.2), policy=policy)


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
        self.agent: Agent


@asynccontextmanager
async def agents(
    homes: Sequence[Home],
    networks: Callable[[Home], Sequence[Network]],
    *,
    limits: SessionLimits,
    accept_pairing: bool = True,
    period: float = 900.0,
    policy: Policy | None = None,
) -> AsyncIterator[None]:
    """An agent started in each home on ``networks(home)``; all stopped, and the owners' data
    closed, on the way out."""
    async with AsyncExitStack() as stack:
        for home in homes:

            def on_agenda(
                peer: Peer, title: str, space: OutcomeSpace, who: str = home.who
            ) -> LittleDan:
                return strategy(who, space, policy)

            name = homes[0].who if home is not homes[0] else homes[-1].who
            home.agent = Agent(
                home.owner,
                networks=networks(home),
                on_agenda=on_agenda,
                on_pairing=owner_says(name.title() if accept_pairing else None, home.codes),
                limits=limits,
                period=period,
            )
            await stack.enter_async_context(home.agent)
        yield
    for home in homes:
        home.owner.close()


async def until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def pair_them(alice: Home, bob: Home, timeout: float = 10.0) -> Peer:
    """Bob opens pairing; Alice sees him as a stranger open to pairing and pairs."""
    await bob.agent.open_to_pairing(60.0)
    offer = await alice.agent.wait_for_pairing_offer(timeout=timeout)
    assert offer.open_to_pairing and not offer.partner
    return await alice.agent.pair(offer.key, owner_says("Bob", alice.codes))


async def partners(alice: Home, bob: Home, timeout: float = 10.0) -> bytes:
    """Pair them, and wait until Alice sees Bob as her partner nearby; Bob's identity key."""
    await pair_them(alice, bob, timeout)
    bob_id = bob.agent.identity.public_key
    await alice.agent.wait_for_partner(bob_id, timeout=timeout)
    return bob_id


async def first_meeting(alice: Home, bob: Home, via: Transport) -> tuple[PeerEntry, PartnerSession]:
    """Strangers pair by numeric comparison, then Alice finds Bob as her partner nearby and
    reaches him over ``via``: his directory entry, and the session (open)."""
    peer = await pair_them(alice, bob)
    bob_id = bob.agent.identity.public_key
    alice_id = alice.agent.identity.public_key
    assert peer.identity_key == bob_id
    # Both owners were shown the same six digits.
    assert len(alice.codes[0]) == 6 and alice.codes == bob.codes
    assert [p.name for p in alice.owner.peers.list()] == ["Bob"]
    assert [p.name for p in bob.owner.peers.list()] == ["Alice"]
    # Advertising keys were swapped in the pairing session: each recognises the other.
    assert bob.owner.advertising.partner_keys()[alice_id] == alice.owner.advertising.own_key()
    entry = await alice.agent.wait_for_partner(bob_id, timeout=10)
    assert entry.name == "Bob" and entry.preferred.transport == via
    session = await alice.agent.connect(bob_id)
    assert session.peer.identity_key == bob_id and session.via == via
    return entry, session


async def agree_on_dinner(alice: Home, bob: Home, bob_id: bytes, timeout: float = 20) -> None:
    """Alice negotiates Friday dinner with her partner Bob: one accord, signed by both, which
    both keep."""
    result = await alice.agent.negotiate(
        [bob_id], "Friday dinner", SPACE, strategy("alice", SPACE), timeout=timeout
    )
    assert result.failure is None and result.accord is not None
    result.accord.verify()
    # Curry is the one outcome above both reservation values with the best product.
    assert dict(result.accord.outcome)["dinner"] == "curry"
    await until(lambda: bob.owner.accords.list(binding_only=True))
    for home in (alice, bob):
        stored = home.owner.accords.list(binding_only=True)
        assert [s.accord.to_bytes() for s in stored] == [result.accord.to_bytes()]


async def removed(
    events: AsyncIterator[DirectoryEvent], identity_key: bytes, timeout: float
) -> None:
    """Wait until ``events`` (an agent's directory events) removes this partner's entry."""
    async with asyncio.timeout(timeout):
        while True:
            event = await anext(events)
            if isinstance(event, Removed) and event.entry.identity_key == identity_key:
                return


def run(work: Awaitable[None], timeout: float = 60) -> None:
    asyncio.run(asyncio.wait_for(work, timeout=timeout))
