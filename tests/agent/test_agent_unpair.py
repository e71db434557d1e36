"""Unpairing while the agent runs (issue #14): adverts follow the new advertising key at once.

The unpairing replaces Bob's advertising key in his store, and the psk of his handshakes follows
it; his adverts used to keep the key read at ``start`` until a restart, so the former partner
still recognised (could track) every advert. A stranger listening on the hub sees what Alice
would: Bob's next advert is not recognisable with the old key, and Carol, who stays his partner,
gets the new key at their next session and recognises and reaches him again.
"""

from __future__ import annotations

import time
from pathlib import Path

from agent_homes import Home, agents, pair_them, run, until

from edge_dan.agent.networks import LoopbackHub, LoopbackNetwork
from edge_dan.discovery.directory import Sighting
from edge_dan.discovery.tokens import Advert, Recogniser
from edge_dan.wire.session import SessionLimits

LIMITS = SessionLimits(handshake_timeout=5.0, keepalive_interval=0.5, dead_peer_intervals=3)


class Listener(LoopbackNetwork):
    """A hub member that only records what every agent advertises."""

    def __init__(self, hub: LoopbackHub) -> None:
        super().__init__(hub)
        self.latest: dict[LoopbackNetwork, Sighting] = {}

    def saw(self, sighting: Sighting, owner: LoopbackNetwork) -> None:
        self.latest[owner] = sighting


def recognised(advert: Advert, key: bytes) -> bool:
    return Recogniser({b"bob": key}).recognise(advert, time.time()) is not None


def test_after_an_unpairing_the_next_advert_is_not_recognisable_with_the_old_key(
    tmp_path: Path,
) -> None:
    alice, bob, carol = (Home(who, tmp_path) for who in ("alice", "bob", "carol"))
    hub = LoopbackHub()
    listener = Listener(hub)

    async def scenario() -> None:
        async with agents([alice, bob, carol], lambda home: [LoopbackNetwork(hub)], limits=LIMITS):
            hub.join(listener)
            await pair_them(alice, bob)
            await pair_them(carol, bob)
            await bob.agent.close_pairing()
            bob_id, alice_id = bob.agent.identity.public_key, alice.agent.identity.public_key
            bobs = bob.agent.networks[0]
            assert isinstance(bobs, LoopbackNetwork)
            old_key = bob.owner.advertising.own_key()
            assert carol.owner.advertising.partner_keys()[bob_id] == old_key
            assert recognised(listener.latest[bobs].advert, old_key)

            assert await bob.agent.unpair(alice_id)
            new_key = bob.owner.advertising.own_key()
            assert new_key != old_key
            advert = listener.latest[bobs].advert
            assert not recognised(advert, old_key)  # Alice can no longer follow Bob
            assert recognised(advert, new_key)

            # Carol (still a partner) holds the old key too: Bob reaches her (her key did not
            # change), the session hands her his new key, and she recognises and reaches him.
            await bob.agent.wait_for_partner(carol.agent.identity.public_key, timeout=10)
            session = await bob.agent.connect(carol.agent.identity.public_key)
            await until(lambda: carol.owner.advertising.partner_keys()[bob_id] == new_key)
            await session.channel.close()
            await carol.agent.wait_for_partner(bob_id, timeout=10)
            back = await carol.agent.connect(bob_id)
            assert back.peer.identity_key == bob_id
            await back.channel.close()
            hub.leave(listener)

    run(scenario())
