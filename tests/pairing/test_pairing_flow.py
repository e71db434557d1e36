"""The whole path: first contact over XX, policy, numeric comparison, stored peer, key change."""

from __future__ import annotations

import pytest

from edge_dan.identity import Identity
from edge_dan.owner import Owner
from edge_dan.pairing.numeric import NumericComparison, ShowCode
from edge_dan.pairing.policy import Access, decide
from edge_dan.wire.errors import PeerKeyChanged
from edge_dan.wire.noise import Handshake

XX = "Noise_XX_25519_ChaChaPoly_BLAKE2b"


def xx(alice: Identity, bob: Identity) -> tuple[Handshake, Handshake]:
    i = Handshake(XX, initiator=True, s=alice.static_private)
    r = Handshake(XX, initiator=False, s=bob.static_private)
    r.read_message(i.write_message())
    i.read_message(r.write_message())
    r.read_message(i.write_message())
    return i, r


def test_pair_store_recognise_and_refuse_a_changed_key(owner: Owner) -> None:
    me, bob = Identity.generate(), Identity.generate()
    mine, theirs = xx(me, bob)
    assert mine.remote_static == bob.static_public_key
    assert decide(owner.peers, bob.public_key, bob.static_public_key).access is Access.PAIRING_ONLY

    a, b = NumericComparison.from_handshake(mine), NumericComparison.from_handshake(theirs)
    a.start()
    shown = []
    while not (a.finished and b.finished):  # what one queues, the other's session delivers
        for sender, receiver in ((a, b), (b, a)):
            for message in sender.take_outgoing():
                receiver.receive(message, 0.0)
            for event in receiver.take_events():
                if isinstance(event, ShowCode):
                    shown.append(event.code)
                    receiver.confirm(True)  # each owner says yes
    assert len(shown) == 2 and shown[0] == shown[1]  # having seen the same digits
    assert a.result is not None and b.result is not None
    owner.peers.add(bob.public_key, a.result, "Bob")

    stored = owner.peers.get(bob.public_key)
    assert stored is not None and stored.advert_key == b.result.advert_key
    again, _ = xx(me, bob)  # a later session with the paired key is let in
    assert again.remote_static is not None
    assert decide(owner.peers, bob.public_key, again.remote_static).paired

    rotated = bob.rotate_static_key()
    later, _ = xx(me, rotated)
    assert later.remote_static is not None
    with pytest.raises(PeerKeyChanged):
        decide(owner.peers, bob.public_key, later.remote_static)

    assert owner.peers.remove(bob.public_key)
    assert decide(owner.peers, bob.public_key, later.remote_static).may_pair
