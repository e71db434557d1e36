"""Pairing end to end over real Noise sessions, with each owner's data in its encrypted store.

First contact is an XX session between strangers: the policy allows pairing only. Numeric
comparison runs inside the encrypted session, both owners see the same code and say yes, each
store keeps the other as a paired peer. The next contact is an IK session straight to the stored
static key; the policy lets it in. A peer that comes back with another static key is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_dan.discovery.tokens import Recogniser, TokenRotator
from edge_dan.identity import Identity
from edge_dan.owner import Owner
from edge_dan.pairing.numeric import NumericComparison
from edge_dan.pairing.policy import Access, decide
from edge_dan.store import KdfParams
from edge_dan.transports.memory import MemoryLink
from edge_dan.wire.errors import PeerKeyChanged
from edge_dan.wire.messages import Message
from edge_dan.wire.messages.discovery import AdvertisingKeyGrant
from edge_dan.wire.session import HandshakeComplete, MessageReceived, Role, Session, State


def _established(link: MemoryLink) -> tuple[HandshakeComplete, HandshakeComplete]:
    link.pump()
    assert link.a.state is State.ESTABLISHED and link.b.state is State.ESTABLISHED
    a_peer, b_peer = link.a.peer, link.b.peer
    assert a_peer is not None and b_peer is not None
    return a_peer, b_peer


def _numeric(initiator: bool, me: Identity, peer: HandshakeComplete) -> NumericComparison:
    """Numeric comparison for ``me`` on top of the handshake it completed with ``peer``."""
    return NumericComparison.from_session(
        initiator=initiator,
        handshake_hash=peer.handshake_hash,
        local_static=me.static_public_key,
        peer_static=peer.peer_static_key,
    )


def _deliver(link: MemoryLink, sender: Session, message: Message) -> Message:
    """Send one message through the session; return it as the peer received it."""
    sender.send(message)
    link.pump()
    events = link.events_b if sender is link.a else link.events_a
    received = [e for e in events if isinstance(e, MessageReceived)]
    assert received, "the pairing message did not arrive"
    events.remove(received[0])
    return received[0].message


def _relay(
    link: MemoryLink, session: Session, sender: NumericComparison, receiver: NumericComparison
) -> None:
    """What ``sender`` queued, through ``session`` (its end of ``link``), to ``receiver``."""
    for message in sender.take_outgoing():
        receiver.receive(_deliver(link, session, message), 0.0)


@pytest.fixture
def owners(tmp_path: Path, fast_kdf: KdfParams) -> tuple[Owner, Owner]:
    return (
        Owner.create(tmp_path / "alice", "alice's passphrase", kdf=fast_kdf),
        Owner.create(tmp_path / "bob", "bob's passphrase", kdf=fast_kdf),
    )


def test_pair_over_a_session_then_reconnect_with_ik(owners: tuple[Owner, Owner]) -> None:
    alice_owner, bob_owner = owners
    alice, bob = Identity.generate(), Identity.generate()

    first = MemoryLink(
        Session(Role.INITIATOR, alice, now=0.0, pattern="XX", capabilities=("pair",)),
        Session(Role.RESPONDER, bob, now=0.0, pattern=None, capabilities=("pair",)),
    )
    bob_seen_by_alice, alice_seen_by_bob = _established(first)
    assert decide(alice_owner.peers, bob.public_key, bob_seen_by_alice.peer_static_key).access is (
        Access.PAIRING_ONLY
    )
    assert decide(bob_owner.peers, alice.public_key, alice_seen_by_bob.peer_static_key).may_pair

    a = _numeric(True, alice, bob_seen_by_alice)
    b = _numeric(False, bob, alice_seen_by_bob)
    a.start()
    _relay(first, first.a, a, b)  # the commitment
    _relay(first, first.b, b, a)  # the nonce
    _relay(first, first.a, a, b)  # the reveal
    assert a.code is not None and a.code == b.code  # both screens show the same six digits
    assert len(a.code) == 6
    b.confirm(True)
    _relay(first, first.b, b, a)
    a.confirm(True)
    _relay(first, first.a, a, b)
    assert a.result is not None and b.result is not None
    assert a.result.advert_key == b.result.advert_key
    alice_owner.peers.add(bob.public_key, a.result, "Bob")
    bob_owner.peers.add(alice.public_key, b.result, "Alice")

    # Still inside the pairing session, each hands the other its advertising key (as BLE's key
    # distribution hands over the IRK); from then on each recognises the other's adverts.
    _grant_advertising_keys(first, (alice_owner, bob.public_key), (bob_owner, alice.public_key))
    now = 1_800_000_000.0
    alice_advert = TokenRotator(alice_owner.advertising.own_key()).advert(now)
    bob_advert = TokenRotator(bob_owner.advertising.own_key()).advert(now)
    assert Recogniser(bob_owner.advertising.partner_keys()).recognise(alice_advert, now) == (
        alice.public_key
    )
    assert Recogniser(alice_owner.advertising.partner_keys()).recognise(bob_advert, now) == (
        bob.public_key
    )

    # Next time Alice goes straight to Bob's stored static key (IK): one round trip.
    stored = alice_owner.peers.get(bob.public_key)
    assert stored is not None
    again = MemoryLink(
        Session(Role.INITIATOR, alice, now=1.0, pattern="IK", remote_static=stored.static_key),
        Session(Role.RESPONDER, bob, now=1.0, pattern=None),
    )
    bob_again, alice_again = _established(again)
    assert again.a.pattern == "IK"
    assert decide(alice_owner.peers, bob.public_key, bob_again.peer_static_key).paired
    assert decide(bob_owner.peers, alice.public_key, alice_again.peer_static_key).paired

    # Bob's device comes back with another session key under the same identity: refused loudly.
    rotated = bob.rotate_static_key()
    third = MemoryLink(
        Session(Role.INITIATOR, alice, now=2.0, pattern="XX"),
        Session(Role.RESPONDER, rotated, now=2.0, pattern=None),
    )
    bob_rotated, _ = _established(third)
    with pytest.raises(PeerKeyChanged, match="Bob"):
        decide(alice_owner.peers, bob.public_key, bob_rotated.peer_static_key)
    for owner in owners:
        owner.close()


def _grant_advertising_keys(
    link: MemoryLink, alice: tuple[Owner, bytes], bob: tuple[Owner, bytes]
) -> None:
    """Each side sends AdvertisingKeyGrant; the receiver keeps it for the peer it paired with."""
    (alice_owner, bob_key), (bob_owner, alice_key) = alice, bob
    for sender_owner, receiver_owner, sender_identity, session in (
        (alice_owner, bob_owner, alice_key, link.a),
        (bob_owner, alice_owner, bob_key, link.b),
    ):
        grant = _deliver(link, session, grant_for(sender_owner))
        assert isinstance(grant, AdvertisingKeyGrant)
        receiver_owner.advertising.set_partner_key(sender_identity, grant.key)


def grant_for(owner: Owner) -> AdvertisingKeyGrant:
    return AdvertisingKeyGrant(key=owner.advertising.own_key())


def test_a_relay_between_two_sessions_shows_different_codes(owners: tuple[Owner, Owner]) -> None:
    """Mallory terminates both sessions; the owners' codes differ, so they say no."""
    alice, bob, mallory = Identity.generate(), Identity.generate(), Identity.generate()
    to_alice = MemoryLink(
        Session(Role.INITIATOR, alice, now=0.0, pattern="XX"),
        Session(Role.RESPONDER, mallory, now=0.0, pattern=None),
    )
    to_bob = MemoryLink(
        Session(Role.INITIATOR, mallory, now=0.0, pattern="XX"),
        Session(Role.RESPONDER, bob, now=0.0, pattern=None),
    )
    m_seen_by_alice, alice_seen_by_m = _established(to_alice)
    bob_seen_by_m, m_seen_by_bob = _established(to_bob)
    a = _numeric(True, alice, m_seen_by_alice)
    m_as_responder = _numeric(False, mallory, alice_seen_by_m)
    m_as_initiator = _numeric(True, mallory, bob_seen_by_m)
    b = _numeric(False, bob, m_seen_by_bob)
    # Each half of the relay is an honest-looking run of the protocol.
    a.start()
    m_as_initiator.start()
    for sender, receiver in [(a, m_as_responder), (m_as_initiator, b)] * 2:
        for message in sender.take_outgoing():
            receiver.receive(message, 0.0)
        for message in receiver.take_outgoing():
            sender.receive(message, 0.0)
    assert a.code is not None and b.code is not None
    assert a.code != b.code  # different handshakes, different nonces: the owners notice
