"""Two people's homes holding real accords, made as the product makes them.

Alice's and Bob's agents run on loopback (real sockets on 127.0.0.1, the real handshakes), pair by
numeric comparison (both owners answer), and Alice negotiates Friday dinner with Bob twice: each
home then keeps the same two accords, signed by both. The owners are closed before any CLI runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from conftest import FAST_KDF

from edge_dan import (
    Agent,
    DiscreteIssue,
    LittleDan,
    LoopbackHub,
    LoopbackNetwork,
    OutcomeSpace,
    Owner,
)
from edge_dan.negotiation.domain.outcomes import Value
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility, Profile

PASSPHRASES = {"alice": "alice's passphrase", "bob": "bob's passphrase"}
DINNER = OutcomeSpace([DiscreteIssue("dinner", ("pizza", "curry", "salad"))])
DESSERT = OutcomeSpace([DiscreteIssue("dessert", ("cake", "fruit"))])
TASTES: dict[str, dict[Value, float]] = {
    "alice": {"pizza": 3.0, "curry": 2.0, "salad": 0.0, "cake": 2.0, "fruit": 1.0},
    "bob": {"pizza": 0.0, "curry": 3.0, "salad": 2.0, "cake": 2.0, "fruit": 0.5},
}


def taste(who: str, space: OutcomeSpace) -> LittleDan:
    issue = space.issues[0].name
    values = {value: TASTES[who][value] for value in space.issues[0].values}
    utility = LinearAdditiveUtility(space, {issue: 1.0}, {issue: values})
    return LittleDan(Profile(space, utility, reservation_value=0.2))


@dataclass(frozen=True)
class Homes:
    alice: Path
    bob: Path
    alice_key: bytes
    bob_key: bytes
    accord_ids: tuple[str, ...]  # hex, the dinner's first


def confirm_as(name: str) -> Callable[[str, str], Awaitable[str]]:
    """An owner who sees the six digits match and keeps the new partner as ``name``."""

    async def confirm(code: str, fingerprint: str) -> str:
        return name

    return confirm


async def _meet_and_agree(alice: Owner, bob: Owner) -> list[str]:
    hub = LoopbackHub()

    def bob_answers(peer: object, title: str, space: OutcomeSpace) -> LittleDan:
        return taste("bob", space)

    async with (
        Agent(alice, networks=[LoopbackNetwork(hub)], on_pairing=confirm_as("Bob")) as a,
        Agent(
            bob,
            networks=[LoopbackNetwork(hub)],
            on_pairing=confirm_as("Alice"),
            on_agenda=bob_answers,
        ) as b,
    ):
        await b.open_to_pairing(60)
        offer = await a.wait_for_pairing_offer(timeout=10)
        peer = await a.pair(offer.key, confirm_as("Bob"))
        await a.wait_for_partner(peer.identity_key, timeout=10)
        ids = []
        for title, space in (("Friday dinner", DINNER), ("Dessert", DESSERT)):
            result = await a.negotiate([peer.identity_key], title, space, taste("alice", space))
            assert result.accord is not None, result
            ids.append(result.accord.id.hex())
        async with asyncio.timeout(10):  # Bob keeps the accord once Alice's signature arrives
            while len(bob.accords.list(binding_only=True)) < len(ids):
                await asyncio.sleep(0.02)
    return ids


def make_homes(root: Path) -> Homes:
    """Alice and Bob, paired, with two accords in both stores (see the module doc)."""
    alice = Owner.create(root / "alice", PASSPHRASES["alice"], kdf=FAST_KDF.with_new_salt())
    bob = Owner.create(root / "bob", PASSPHRASES["bob"], kdf=FAST_KDF.with_new_salt())
    with alice, bob:
        ids = asyncio.run(asyncio.wait_for(_meet_and_agree(alice, bob), timeout=60))
        keys = alice.identity.ensure().public_key, bob.identity.ensure().public_key
    return Homes(root / "alice", root / "bob", keys[0], keys[1], tuple(ids))
