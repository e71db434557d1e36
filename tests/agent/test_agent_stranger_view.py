"""What a stranger learns by connecting to an agent's advertised port (issue #14, defect 1).

Over real TCP on 127.0.0.1, epochs of one second: every epoch the stranger knocks on the port
of that epoch's advert with everything it can make (XX as pairing would, IK to a guessed key,
IKpsk1 to the agent's real static key with a psk it cannot know) and records every byte that
comes back. With pairing closed nothing comes back, so nothing can be compared, let alone linked;
while the owner has pairing open, XX shows the identity (what pairing needs), and only then.
Meanwhile the partner connects in every epoch, in one round trip.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from agent_homes import Home, agents, run, until

from edge_dan.agent import PartnerSession
from edge_dan.agent.networks import LoopbackHub, LoopbackNetwork
from edge_dan.discovery.tokens import epoch_of, new_advertising_key, session_psk
from edge_dan.identity import Identity
from edge_dan.pairing.result import PairingResult
from edge_dan.transports import tcp
from edge_dan.wire.errors import ProtocolError
from edge_dan.wire.framing.tcp import HEADER_LEN, encode_frame
from edge_dan.wire.session import Role, Session, SessionLimits

LIMITS = SessionLimits(handshake_timeout=5.0, keepalive_interval=0.5, dead_peer_intervals=3)
EPOCHS = 3
PERIOD = 1.0  # seconds per epoch, so three pass quickly
MALLORY = Identity.generate()


def paired_in_stores(alice: Home, bob: Home) -> None:
    """What a completed pairing leaves in both stores, advertising keys included (no pairing
    window is ever opened)."""
    for me, other in ((alice, bob), (bob, alice)):
        identity = other.owner.identity.ensure()
        result = PairingResult("numeric", identity.static_public_key, bytes(32), bytes(64))
        me.owner.peers.add(identity.public_key, result, other.who.title())
        me.owner.advertising.set_partner_key(identity.public_key, other.owner.advertising.own_key())


async def knock(port: int, first: bytes) -> bytes:
    """Send one handshake message 1 as a raw frame; every byte the agent sends back (its first
    frame, if any), until it hangs up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(encode_frame(first))
        await writer.drain()
        header = await asyncio.wait_for(reader.read(HEADER_LEN), timeout=LIMITS.handshake_timeout)
        if not header:
            return b""
        body = await reader.readexactly(int.from_bytes(header, "big"))
        return header + body
    finally:
        writer.close()


def strangers_attempts(bob_static: bytes) -> dict[str, Session]:
    """Every first message a stranger can make; IKpsk1 even knows Bob's real static key (as one
    who met him while pairing was open would), but not his advertising key."""
    return {
        "XX": Session(Role.INITIATOR, MALLORY, now=0.0, pattern="XX"),
        "IK": Session(
            Role.INITIATOR,
            MALLORY,
            now=0.0,
            pattern="IK",
            remote_static=Identity.generate().static_public_key,
        ),
        "IKpsk1": Session(
            Role.INITIATOR,
            MALLORY,
            now=0.0,
            pattern="IKpsk1",
            remote_static=bob_static,
            psk=session_psk(new_advertising_key(), 0),
        ),
    }


async def next_epoch(bob: Home, epochs: list[int], seen_ports: set[int]) -> int:
    """Wait for a new epoch on Bob's clock and the advert (and port) he moved to for it."""
    await until(lambda: not epochs or epoch_of(bob.agent.clock(), PERIOD) > epochs[-1])
    epochs.append(epoch_of(bob.agent.clock(), PERIOD))
    await until(lambda: bob.agent.port not in seen_ports)
    seen_ports.add(bob.agent.port)
    return bob.agent.port


async def partner_connects(alice: Home, bob: Home) -> None:
    bob_id = bob.agent.identity.public_key
    await alice.agent.wait_for_partner(bob_id, timeout=10)
    session: PartnerSession = await alice.agent.connect(bob_id)
    assert session.peer.identity_key == bob_id
    await session.channel.close()


def common_windows(a: bytes, b: bytes, width: int = 8) -> set[bytes]:
    """Every ``width``-byte run found in both: what a passive observer could match."""
    runs = {a[i : i + width] for i in range(len(a) - width + 1)}
    return {b[i : i + width] for i in range(len(b) - width + 1)} & runs


@pytest.mark.parametrize("pairing_open_in_epoch", [None, 1])
def test_a_stranger_links_nothing_over_three_epochs_and_the_partner_still_connects(
    tmp_path: Path, pairing_open_in_epoch: int | None
) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)
    paired_in_stores(alice, bob)
    bob_static = bob.owner.identity.ensure().static_public_key

    async def scenario() -> None:
        hub = LoopbackHub()
        networks = [LoopbackNetwork(hub)], [LoopbackNetwork(hub)]
        async with agents(
            [alice, bob], lambda home: networks[home is bob], limits=LIMITS, period=PERIOD
        ):
            ports: set[int] = set()
            epochs: list[int] = []
            captures: dict[tuple[int, str], bytes] = {}
            for epoch in range(EPOCHS):
                port = await next_epoch(bob, epochs, ports)
                if epoch == pairing_open_in_epoch:
                    await bob.agent.open_to_pairing(60.0)
                for name, stranger in strangers_attempts(bob_static).items():
                    (first,) = stranger.take_outgoing()
                    captures[epoch, name] = await knock(port, first)
                    if captures[epoch, name]:  # pairing is open: the stranger reads message 2
                        stranger.receive(captures[epoch, name][HEADER_LEN:], 0.0)
                        assert stranger.peer is not None
                        assert stranger.peer.peer_identity_key == bob.agent.identity.public_key
                if epoch == pairing_open_in_epoch:
                    again = strangers_attempts(bob_static)["XX"].take_outgoing()[0]
                    captures[epoch, "XX again"] = await knock(port, again)
                    await bob.agent.close_pairing()
                    ports.add(bob.agent.port)  # the advert moved twice, within this epoch
                await partner_connects(alice, bob)

            answered = {at for at, got in captures.items() if got}
            if pairing_open_in_epoch is None:
                assert answered == set()  # not one byte, in any epoch, to any attempt
            else:
                # Only first contact while pairing was open got an answer: the identity, as
                # pairing needs. Two such answers share nothing a passive observer could match.
                opened = pairing_open_in_epoch
                assert answered == {(opened, "XX"), (opened, "XX again")}
                one, two = (captures[at][HEADER_LEN:] for at in sorted(answered))
                assert common_windows(one, two) == set()
            assert len(set(epochs)) == EPOCHS

    run(scenario(), timeout=90)


def test_a_partner_with_another_epochs_key_fails_cleanly_and_then_gets_in(tmp_path: Path) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)
    paired_in_stores(alice, bob)
    alice_identity = alice.owner.identity.ensure()
    bob_key = bob.owner.advertising.own_key()

    async def scenario() -> None:
        hub = LoopbackHub()
        async with agents([alice, bob], lambda home: [LoopbackNetwork(hub)], limits=LIMITS):
            bob_id, bob_static = bob.agent.identity.public_key, bob.agent.identity.static_public_key
            stale = epoch_of(alice.agent.clock(), 900.0) - 2

            def initiator(now: float) -> Session:
                return Session(
                    Role.INITIATOR,
                    alice_identity,
                    now=now,
                    pattern="IKpsk1",
                    remote_static=bob_static,
                    psk=session_psk(bob_key, stale),
                    expected_peer_identity=bob_id,
                )

            with pytest.raises(ProtocolError):
                await tcp.connect("127.0.0.1", bob.agent.port, initiator)
            await partner_connects(alice, bob)  # Bob is unharmed, and Alice's clock is fine

    run(scenario())


def test_a_replayed_message_1_gets_no_answer(tmp_path: Path) -> None:
    alice, bob = Home("alice", tmp_path), Home("bob", tmp_path)
    paired_in_stores(alice, bob)
    alice_identity = alice.owner.identity.ensure()
    bob_key = bob.owner.advertising.own_key()

    async def scenario() -> None:
        hub = LoopbackHub()
        async with agents([alice, bob], lambda home: [LoopbackNetwork(hub)], limits=LIMITS):
            genuine = Session(
                Role.INITIATOR,
                alice_identity,
                now=0.0,
                pattern="IKpsk1",
                remote_static=bob.agent.identity.static_public_key,
                psk=session_psk(bob_key, epoch_of(alice.agent.clock(), 900.0)),
            )
            (first,) = genuine.take_outgoing()
            assert await knock(bob.agent.port, first)  # recorded on its way: Bob answers it once
            assert await knock(bob.agent.port, first) == b""  # the replay: nothing

    run(scenario())
