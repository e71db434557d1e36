"""Sessions that run a pairing's prepared handshake: QR (``IKpsk2``) and typed code (a SPAKE2
prelude in the clear, then ``XXpsk3``), with the session's identity payloads and checks.

A responder admitting partners (``PartnerAdmission``) hands a first frame that is no partner's to
its ``pairing`` gate; without a gate, or when the gate says no, the frame fails like any stranger's
and nothing is sent back.
"""

from __future__ import annotations

import pytest

from edge_dan.identity import Identity
from edge_dan.pairing.code import XXPSK3, CodeEntry, CodeWindow
from edge_dan.pairing.qr import IKPSK2, QrInvite, QrScan
from edge_dan.transports.memory import MemoryLink
from edge_dan.wire.errors import PairingAborted
from edge_dan.wire.noise import Handshake, KeyPair
from edge_dan.wire.session import (
    PairingStart,
    PartnerAdmission,
    Prelude,
    ProtocolFailure,
    Role,
    Session,
    State,
    prologue,
)

ANA, BEN = Identity.generate(), Identity.generate()
PSK = bytes(range(32))  # a partner psk that the pairing frames never match


def static(identity: Identity) -> KeyPair:
    return KeyPair.from_private(identity.static_private)


def responder(gate: object = None) -> Session:
    admission = PartnerAdmission(psks=(PSK,), pairing=gate)  # type: ignore[arg-type]
    return Session(Role.RESPONDER, ANA, now=0.0, pattern=None, admission=admission)


def test_qr_pairing_runs_ikpsk2_with_identities_and_equal_results() -> None:
    invite = QrInvite(static(ANA), now=0.0)
    taken: list[Handshake] = []

    def gate(frame: bytes) -> PairingStart:
        taken.append(invite.responder(0.0, prologue(IKPSK2)))
        return PairingStart(taken[0])

    scan = QrScan(invite.text, static(BEN))
    mine = scan.initiator(prologue(IKPSK2))
    link = MemoryLink(Session(Role.INITIATOR, BEN, now=0.0, handshake=mine), responder(gate))
    link.pump()
    assert link.a.state is State.ESTABLISHED and link.b.state is State.ESTABLISHED
    assert link.a.pattern == link.b.pattern == "IKpsk2"
    assert link.a.peer is not None and link.a.peer.peer_identity_key == ANA.public_key
    assert link.b.peer is not None and link.b.peer.peer_identity_key == BEN.public_key
    theirs = invite.result(taken[0])
    assert scan.result(mine).advert_key == theirs.advert_key
    assert theirs.peer_static == BEN.static_public_key
    assert link.b.peer.handshake_hash == taken[0].handshake_hash


def test_code_pairing_runs_a_spake2_prelude_then_xxpsk3() -> None:
    pytest.importorskip("spake2")
    window = CodeWindow(static(ANA), now=0.0)
    entry = CodeEntry(window.code, static(BEN))

    def gate(frame: bytes) -> PairingStart:
        reply, attempt = window.accept(frame, 0.0, prologue(XXPSK3))
        return PairingStart(attempt.handshake, reply)

    ran: list[Handshake] = []

    def answer(reply: bytes) -> Handshake:
        ran.append(entry.receive(reply, prologue(XXPSK3)))
        return ran[0]

    typing = Session(Role.INITIATOR, BEN, now=0.0, prelude=Prelude(entry.start(), answer))
    link = MemoryLink(typing, responder(gate))
    link.pump()
    assert link.a.state is State.ESTABLISHED and link.b.state is State.ESTABLISHED
    assert link.a.pattern == link.b.pattern == "XXpsk3"
    assert link.b.peer is not None and link.b.peer.peer_identity_key == BEN.public_key
    assert window.attempts_left == 4


def test_a_wrong_code_fails_the_window_side_at_message_3() -> None:
    pytest.importorskip("spake2")
    window = CodeWindow(static(ANA), now=0.0)
    wrong = f"{(int(window.code) + 1) % 10**8:08d}"
    entry = CodeEntry(wrong, static(BEN))

    def gate(frame: bytes) -> PairingStart:
        reply, attempt = window.accept(frame, 0.0, prologue(XXPSK3))
        return PairingStart(attempt.handshake, reply)

    prelude = Prelude(entry.start(), lambda reply: entry.receive(reply, prologue(XXPSK3)))
    link = MemoryLink(Session(Role.INITIATOR, BEN, now=0.0, prelude=prelude), responder(gate))
    link.pump()
    assert link.b.state is State.FAILED  # the window learns it; the typing side only hears
    assert link.a.state is State.ESTABLISHED  # nothing more (its pairing then waits in vain)
    assert window.attempts_left == 4


@pytest.mark.parametrize("gate", [None, lambda frame: None])
def test_without_an_open_offer_a_pairing_frame_fails_and_gets_no_answer(gate: object) -> None:
    scan = QrScan(QrInvite(static(ANA), now=0.0).text, static(BEN))
    initiator = Session(Role.INITIATOR, BEN, now=0.0, handshake=scan.initiator(prologue(IKPSK2)))
    link = MemoryLink(initiator, responder(gate))
    link.pump()
    assert link.b.state is State.FAILED
    assert any(isinstance(e, ProtocolFailure) for e in link.events_b)
    assert link.a.state is State.HANDSHAKE  # nothing came back


def test_a_prelude_answer_that_raises_fails_the_session() -> None:
    def answer(reply: bytes) -> Handshake:
        raise PairingAborted("the peer's SPAKE2 message is invalid")

    session = Session(Role.INITIATOR, BEN, now=0.0, prelude=Prelude(b"spake", answer))
    assert session.take_outgoing() == [b"spake"]  # the prelude goes first, in the clear
    session.receive(b"garbage", 0.0)
    assert session.state is State.FAILED


def test_prepared_handshakes_are_for_initiators_and_replace_the_pattern() -> None:
    ik = QrScan(QrInvite(static(ANA), now=0.0).text, static(BEN)).initiator(prologue(IKPSK2))
    with pytest.raises(ValueError, match="initiator"):
        Session(Role.RESPONDER, ANA, now=0.0, pattern=None, handshake=ik)
    with pytest.raises(ValueError, match="not both"):
        Session(Role.INITIATOR, BEN, now=0.0, handshake=ik, prelude=Prelude(b"x", lambda r: ik))
    with pytest.raises(ValueError, match="initiator alone"):
        Session(Role.INITIATOR, BEN, now=0.0, pattern="IKpsk1", psk=PSK, handshake=ik)
    responder_side = QrInvite(static(ANA), now=0.0).responder(0.0, prologue(IKPSK2))
    with pytest.raises(ValueError, match="initiator's"):
        Session(Role.INITIATOR, BEN, now=0.0, handshake=responder_side)
