"""Pairing end to end over real Noise sessions, with each owner's encrypted store.

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
from edge_dan.pairing.numeric import NumericComparison
from edge_dan.pairing.policy import Access, decide
from edge_dan.store import KdfParams, Store
from edge_dan.store.discovery_keys import (
    own_advertising_key,
    partner_advertising_keys,
    set_partner_advertising_key,
)
from edge_dan.store.peers import add_peer, get_peer
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
def stores(tmp_path: Path, fast_kdf: KdfParams) -> tuple[Store, Store]:
    return (
        Store.create(tmp_path / "alice", "alice's passphrase", kdf=fast_kdf),
        Store.create(tmp_path / "bob", "bob's passphrase", kdf=fast_kdf),
    )


def test_pair_over_a_session_then_reconnect_with_ik(stores: tuple[Store, Store]) -> None:
    alice_store, bob_store = stores
    alice, bob = Identity.generate(), Identity.generate()

    first = MemoryLink(
        Session(Role.INITIATOR, alice, now=0.0, pattern="XX", capabilities=("pair",)),
        Session(Role.RESPONDER, bob, now=0.0, pattern=None, capabilities=("pair",)),
    )
    bob_seen_by_alice, alice_seen_by_bob = _established(first)
    assert decide(alice_store, bob.public_key, bob_seen_by_alice.peer_static_key).access is (
        Access.PAIRING_ONLY
    )
    assert decide(bob_store, alice.public_key, alice_seen_by_bob.peer_static_key).may_pair

    a = NumericComparison.from_session(
        initiator=True,
        handshake_hash=bob_seen_by_alice.handshake_hash,
        local_static=alice.static_public_key,
        peer_static=bob_seen_by_alice.peer_static_key,
    )
    b = NumericComparison.from_session(
        initiator=False,
        handshake_hash=alice_seen_by_bob.handshake_hash,
        local_static=bob.static_public_key,
        peer_static=alice_seen_by_bob.peer_static_key,
    )
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
    add_peer(alice_store, bob.public_key, a.result, "Bob")
    add_peer(bob_store, alice.public_key, b.result, "Alice")

    # Still inside the pairing session, each hands the other its advertising key (as BLE's key
    # distribution hands over the IRK); from then on each recognises the other's adverts.
    _grant_advertising_keys(first, (alice_store, bob.public_key), (bob_store, alice.public_key))
    now = 1_800_000_000.0
    alice_advert = TokenRotator(own_advertising_key(alice_store)).advert(now)
    bob_advert = TokenRotator(own_advertising_key(bob_store)).advert(now)
    assert Recogniser(partner_advertising_keys(bob_store)).recognise(alice_advert, now) == (
        alice.public_key
    )
    assert Recogniser(partner_advertising_keys(alice_store)).recognise(bob_advert, now) == (
        bob.public_key
    )

    # Next time Alice goes straight to Bob's stored static key (IK): one round trip.
    stored = get_peer(alice_store, bob.public_key)
    assert stored is not None
    again = MemoryLink(
        Session(Role.INITIATOR, alice, now=1.0, pattern="IK", remote_static=stored.static_key),
        Session(Role.RESPONDER, bob, now=1.0, pattern=None),
    )
    bob_again, alice_again = _established(again)
    assert again.a.pattern == "IK"
    assert decide(alice_store, bob.public_key, bob_again.peer_static_key).paired
    assert decide(bob_store, alice.public_key, alice_again.peer_static_key).paired

    # Bob's device comes back with another session key under the same identity: refused loudly.
    rotated = bob.rotate_static_key()
    third = MemoryLink(
        Session(Role.INITIATOR, alice, now=2.0, pattern="XX"),
        Session(Role.RESPONDER, rotated, now=2.0, pattern=None),
    )
    bob_rotated, _ = _established(third)
    with pytest.raises(PeerKeyChanged, match="Bob"):
        decide(alice_store, bob.public_key, bob_rotated.peer_static_key)
    for store in stores:
        store.close()


def _grant_advertising_keys(
    link: MemoryLink, alice: tuple[Store, bytes], bob: tuple[Store, bytes]
) -> None:
    """Each side sends AdvertisingKeyGrant; the receiver keeps it for the peer it paired with."""
    (alice_store, bob_key), (bob_store, alice_key) = alice, bob
    for sender_store, receiver_store, sender_identity, session in (
        (alice_store, bob_store, alice_key, link.a),
        (bob_store, alice_store, bob_key, link.b),
    ):
        grant = _deliver(link, session, grant_for(sender_store))
        assert isinstance(grant, AdvertisingKeyGrant)
        set_partner_advertising_key(receiver_store, sender_identity, grant.key)


def grant_for(store: Store) -> AdvertisingKeyGrant:
    return AdvertisingKeyGrant(key=own_advertising_key(store))


def test_a_relay_between_two_sessions_shows_different_codes(stores: tuple[Store, Store]) -> None:
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
    a = NumericComparison.from_session(
        initiator=True,
        handshake_hash=m_seen_by_alice.handshake_hash,
        local_static=alice.static_public_key,
        peer_static=m_seen_by_alice.peer_static_key,
    )
    m_as_responder = NumericComparison.from_session(
        initiator=False,
        handshake_hash=alice_seen_by_m.handshake_hash,
        local_static=mallory.static_public_key,
        peer_static=alice_seen_by_m.peer_static_key,
    )
    m_as_initiator = NumericComparison.from_session(
        initiator=True,
        handshake_hash=bob_seen_by_m.handshake_hash,
        local_static=mallory.static_public_key,
        peer_static=bob_seen_by_m.peer_static_key,
    )
    b = NumericComparison.from_session(
        initiator=False,
        handshake_hash=m_seen_by_bob.handshake_hash,
        local_static=bob.static_public_key,
        peer_static=m_seen_by_bob.peer_static_key,
    )
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
