"""Partner admission (issue #14, defect 1): only a holder of the advertiser's advertising key
completes a handshake, in one round trip; everyone else gets not one byte back.

The responder here is what the agent builds (``edge_dan.agent.admission``): ``IKpsk1`` with the
psks of its epoch and one either side, XX only while pairing is open, replays refused.
"""

from __future__ import annotations

import pytest

from edge_dan.agent.admission import SeenEphemerals, admission
from edge_dan.discovery.tokens import epoch_of, new_advertising_key, session_psk, session_psks
from edge_dan.identity import Identity
from edge_dan.wire.errors import HandshakeError
from edge_dan.wire.session import (
    MAX_ADMISSION_PSKS,
    HandshakeComplete,
    PartnerAdmission,
    ProtocolFailure,
    Role,
    Session,
    State,
)

ALICE, BOB, MALLORY = Identity.generate(), Identity.generate(), Identity.generate()
PERIOD = 900.0
NOW = 1_800_000_000.0  # wall clock, mid-epoch
BOB_KEY = new_advertising_key()  # Bob's advertising key; his partners hold it


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def bob(
    *, first_contact: bool = False, seen: SeenEphemerals | None = None, now: float = NOW
) -> Session:
    """Bob's responder as his agent builds it at wall-clock ``now``."""
    if seen is None:
        seen = SeenEphemerals(PERIOD, Clock(now))
    gate = admission(BOB_KEY, now, PERIOD, first_contact=first_contact, seen=seen)
    return Session(Role.RESPONDER, BOB, now=0.0, pattern=None, admission=gate)


def partner(epoch_offset: int = 0, key: bytes = BOB_KEY, who: Identity = ALICE) -> Session:
    """An initiator holding ``key``, whose clock is ``epoch_offset`` epochs off Bob's."""
    psk = session_psk(key, epoch_of(NOW, PERIOD) + epoch_offset)
    return Session(
        Role.INITIATOR,
        who,
        now=0.0,
        pattern="IKpsk1",
        remote_static=BOB.static_public_key,
        psk=psk,
        expected_peer_identity=BOB.public_key,
    )


def refused(responder: Session, first: bytes) -> None:
    """Message 1 failed: nothing at all goes back, the session is over."""
    responder.receive(first, 0.0)
    assert responder.take_outgoing() == []
    assert responder.state is State.FAILED
    (event,) = responder.take_events()
    assert isinstance(event, ProtocolFailure) and isinstance(event.error, HandshakeError)


@pytest.mark.parametrize("epoch_offset", [0, -1, 1])
def test_a_partner_gets_in_in_one_round_trip_within_one_epoch_of_skew(epoch_offset: int) -> None:
    alice, responder = partner(epoch_offset), bob()
    (first,) = alice.take_outgoing()
    responder.receive(first, 0.0)
    (second,) = responder.take_outgoing()  # one frame back, and Bob is done
    assert responder.state is State.ESTABLISHED
    alice.receive(second, 0.0)
    assert alice.state is State.ESTABLISHED and alice.take_outgoing() == []
    (done,) = responder.take_events()
    assert isinstance(done, HandshakeComplete) and done.peer_identity_key == ALICE.public_key
    assert responder.pattern == "IKpsk1"


@pytest.mark.parametrize("epoch_offset", [-2, 2, 96])
def test_a_partner_with_another_epochs_psk_fails_cleanly(epoch_offset: int) -> None:
    alice, responder = partner(epoch_offset), bob()
    refused(responder, alice.take_outgoing()[0])


def test_a_former_partner_with_the_rotated_out_key_gets_nothing() -> None:
    """Unpairing rotates the advertising key: the old one opens nothing, even with Bob's static
    key known from pairing."""
    refused(bob(), partner(key=new_advertising_key(), who=MALLORY).take_outgoing()[0])


def test_plain_ik_from_someone_who_knows_the_static_key_gets_nothing() -> None:
    ik = Session(
        Role.INITIATOR, MALLORY, now=0.0, pattern="IK", remote_static=BOB.static_public_key
    )
    refused(bob(), ik.take_outgoing()[0])


def test_a_strangers_xx_gets_nothing_unless_pairing_is_open() -> None:
    stranger = Session(Role.INITIATOR, MALLORY, now=0.0, pattern="XX")
    (first,) = stranger.take_outgoing()
    refused(bob(), first)

    opened = bob(first_contact=True)
    opened.receive(first, 0.0)
    (second,) = opened.take_outgoing()  # pairing is open: first contact shows who Bob is
    stranger.receive(second, 0.0)
    assert stranger.peer is not None and stranger.peer.peer_identity_key == BOB.public_key


@pytest.mark.parametrize("garbage", [b"", b"\x00" * 31, b"\x00" * 33, bytes(range(200))])
def test_garbage_gets_nothing(garbage: bytes) -> None:
    refused(bob(first_contact=True) if len(garbage) != 32 else bob(), garbage)


def test_a_replayed_message_1_does_not_authenticate() -> None:
    """A recorded message 1 replayed to Bob (within the epochs its psk is taken) fails in the
    handshake: no answer, no HandshakeComplete for the partner it came from."""
    seen = SeenEphemerals(PERIOD, Clock())
    (first,) = partner().take_outgoing()
    genuine = bob(seen=seen)
    genuine.receive(first, 0.0)
    assert genuine.state is State.ESTABLISHED
    refused(bob(seen=seen), first)
    # An hour later the psk no longer fits, so the replay fails without the record too.
    later = NOW + 4 * PERIOD
    refused(bob(now=later, seen=SeenEphemerals(PERIOD, Clock(later))), first)


def test_seen_ephemerals_forget_after_the_replay_window_and_stay_bounded() -> None:
    clock = Clock()
    seen = SeenEphemerals(PERIOD, clock, max_seen=3)
    assert seen.fresh(b"a") and not seen.fresh(b"a")
    clock.now += 4 * PERIOD  # past the window: forgotten, and a psk would no longer fit anyway
    assert seen.fresh(b"a")
    for key in (b"b", b"c", b"d", b"e"):
        assert seen.fresh(key)
    assert len(seen) == 3


def test_the_psks_are_domain_separated_per_key_and_epoch() -> None:
    epoch = epoch_of(NOW, PERIOD)
    psks = session_psks(BOB_KEY, NOW, PERIOD)
    assert psks == tuple(session_psk(BOB_KEY, epoch + d) for d in (0, -1, 1))
    assert len(set(psks)) == 3
    assert session_psk(new_advertising_key(), epoch) not in psks
    assert len(session_psks(BOB_KEY, NOW, PERIOD, skew=0)) == 1


def test_admission_is_bounded_and_for_responders_only() -> None:
    with pytest.raises(ValueError, match="candidate psks"):
        PartnerAdmission(psks=())
    with pytest.raises(ValueError, match="candidate psks"):
        PartnerAdmission(psks=(bytes(32),) * (MAX_ADMISSION_PSKS + 1))
    with pytest.raises(ValueError, match="32 bytes"):
        PartnerAdmission(psks=(bytes(31),))
    gate = PartnerAdmission(psks=(bytes(32),))
    with pytest.raises(ValueError, match="responder"):
        Session(Role.RESPONDER, BOB, now=0.0, pattern="XX", admission=gate)
    with pytest.raises(ValueError, match="responder"):
        Session(
            Role.INITIATOR,
            ALICE,
            now=0.0,
            pattern="IKpsk1",
            remote_static=BOB.static_public_key,
            psk=bytes(32),
            admission=gate,
        )
