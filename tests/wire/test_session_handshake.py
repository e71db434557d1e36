"""Session handshake: XX and IK to ESTABLISHED, identity binding, wrong keys, close handshake."""

from __future__ import annotations

import pytest

from edge_dan.identity import Identity
from edge_dan.transports.memory import MemoryLink
from edge_dan.wire.errors import (
    DecryptError,
    HandshakeError,
    PeerAuthenticationError,
    ProtocolError,
    SessionStateError,
)
from edge_dan.wire.messages import (
    PROTOCOL_VERSION,
    Close,
    CloseCode,
    Error,
    ErrorCode,
    HandshakePayload,
    Ping,
    encode,
)
from edge_dan.wire.session import (
    Closed,
    HandshakeComplete,
    MessageReceived,
    ProtocolFailure,
    Role,
    Session,
    State,
)

ALICE, BOB, MALLORY = Identity.generate(), Identity.generate(), Identity.generate()


def pair(pattern: str = "XX", *, responder_pattern: str | None = "same") -> MemoryLink:
    rs = BOB.static_public_key if pattern == "IK" else None
    a = Session(
        Role.INITIATOR, ALICE, now=0.0, pattern=pattern, remote_static=rs, capabilities=("chat",)
    )
    b = Session(
        Role.RESPONDER,
        BOB,
        now=0.0,
        pattern=pattern if responder_pattern == "same" else responder_pattern,
        capabilities=("negotiate", "pair"),
    )
    return MemoryLink(a, b)


def note(text: str) -> Error:
    return Error(ErrorCode.INTERNAL, 0, text)


@pytest.mark.parametrize(
    ("pattern", "responder"), [("XX", "same"), ("IK", "same"), ("XX", None), ("IK", None)]
)
def test_handshake_reaches_established_and_proves_identities(
    pattern: str, responder: str | None
) -> None:
    link = pair(pattern, responder_pattern=responder)
    link.pump()
    assert link.a.state is State.ESTABLISHED and link.b.state is State.ESTABLISHED
    assert link.b.pattern == pattern
    (done_a,), (done_b,) = link.events_a, link.events_b
    assert isinstance(done_a, HandshakeComplete) and isinstance(done_b, HandshakeComplete)
    assert done_a.peer_identity_key == BOB.public_key
    assert done_a.peer_static_key == BOB.static_public_key
    assert done_a.peer_capabilities == ("negotiate", "pair")
    assert done_b.peer_identity_key == ALICE.public_key
    assert done_b.peer_static_key == ALICE.static_public_key
    assert done_b.peer_capabilities == ("chat",)
    assert done_a.handshake_hash == done_b.handshake_hash
    assert link.frames_sent == (
        {"a->b": 2, "b->a": 1} if pattern == "XX" else {"a->b": 1, "b->a": 1}
    )


@pytest.mark.parametrize("pattern", ["XX", "IK"])
def test_a_hundred_messages_each_way(pattern: str) -> None:
    link = pair(pattern)
    link.pump()
    for i in range(100):
        link.a.send(note(f"a{i}"))
        link.b.send(note(f"b{i}"))
    link.pump()
    got_b = [e.message for e in link.events_b if isinstance(e, MessageReceived)]
    got_a = [e.message for e in link.events_a if isinstance(e, MessageReceived)]
    assert got_b == [note(f"a{i}") for i in range(100)]
    assert got_a == [note(f"b{i}") for i in range(100)]


def test_xx_first_message_is_empty_in_the_clear() -> None:
    a = Session(Role.INITIATOR, ALICE, now=0.0)
    (first,) = a.take_outgoing()
    assert len(first) == 32  # the ephemeral key only: nothing about Alice travels in the clear


def _payload(identity: Identity, version: int = PROTOCOL_VERSION) -> bytes:
    return encode(HandshakePayload(version, identity.public_key, identity.static_signature, ()))


class _Spoofer(Session):
    """A session that presents Alice's identity key and signature as its own (XX)."""

    def __init__(self, role: Role, identity: Identity, now: float) -> None:
        super().__init__(role, identity, now=now)
        self._payload = _payload(ALICE)


@pytest.mark.parametrize("spoofing_side", ["initiator", "responder"])
def test_a_peer_presenting_another_identitys_signature_fails(spoofing_side: str) -> None:
    if spoofing_side == "initiator":
        a: Session = _Spoofer(Role.INITIATOR, MALLORY, now=0.0)
        b = Session(Role.RESPONDER, BOB, now=0.0)
    else:
        a = Session(Role.INITIATOR, ALICE, now=0.0)
        b = _Spoofer(Role.RESPONDER, MALLORY, now=0.0)
    link = MemoryLink(a, b)
    link.pump()
    victim_side = link.events_b if spoofing_side == "initiator" else link.events_a
    (failure,) = victim_side
    assert isinstance(failure, ProtocolFailure)
    assert isinstance(failure.error, PeerAuthenticationError)
    assert not any(isinstance(e, HandshakeComplete) for e in victim_side)
    assert (b if spoofing_side == "initiator" else a).state is State.FAILED


def test_expected_identity_is_enforced() -> None:
    a = Session(Role.INITIATOR, ALICE, now=0.0, expected_peer_identity=MALLORY.public_key)
    b = Session(Role.RESPONDER, BOB, now=0.0)
    link = MemoryLink(a, b)
    link.pump()
    assert a.state is State.FAILED
    (failure,) = link.events_a
    assert isinstance(failure, ProtocolFailure)
    assert isinstance(failure.error, PeerAuthenticationError)
    assert b.state is State.HANDSHAKE  # Bob never got message 3; his handshake timer ends it


def test_ik_with_a_wrong_expected_static_key_fails() -> None:
    a = Session(
        Role.INITIATOR, ALICE, now=0.0, pattern="IK", remote_static=MALLORY.static_public_key
    )
    b = Session(Role.RESPONDER, BOB, now=0.0, pattern="IK")
    link = MemoryLink(a, b)
    link.pump()
    assert b.state is State.FAILED
    (failure,) = link.events_b
    assert isinstance(failure, ProtocolFailure) and isinstance(failure.error, DecryptError)
    assert a.state is State.HANDSHAKE and link.events_a == []
    assert link.frames_sent["b->a"] == 0  # nothing is sent back, not even an error


def test_peer_with_an_unknown_protocol_version_fails() -> None:
    class Future(Session):
        def _write_handshake_message(self) -> None:
            self._payload = _payload(self._identity, PROTOCOL_VERSION + 1)
            super()._write_handshake_message()

    link = MemoryLink(
        Future(Role.INITIATOR, ALICE, now=0.0, pattern="IK", remote_static=BOB.static_public_key),
        Session(Role.RESPONDER, BOB, now=0.0, pattern="IK"),
    )
    link.pump()
    (failure,) = link.events_b
    assert isinstance(failure, ProtocolFailure) and isinstance(failure.error, HandshakeError)
    assert "version" in str(failure.error)


def test_handshake_message_out_of_turn_fails() -> None:
    a = Session(Role.INITIATOR, ALICE, now=0.0)
    first = a.take_outgoing()[0]
    a.receive(first, 0.0)  # the initiator expects message 2, not its own message 1
    assert a.state is State.FAILED
    assert isinstance(a.take_events()[0], ProtocolFailure)


def test_close_handshake_both_sides() -> None:
    link = pair()
    link.pump()
    link.a.send(note("last words"))
    link.a.close(CloseCode.NORMAL, "done")
    assert link.a.state is State.CLOSING
    with pytest.raises(SessionStateError):
        link.a.send(note("too late"))
    link.pump()
    assert {link.a.state, link.b.state} == {State.CLOSED}
    assert link.events_b[1:] == [
        MessageReceived(note("last words")),
        Closed(0, "done", by_peer=True),
    ]
    assert link.events_a[1:] == [Closed(0, "done", by_peer=False)]
    assert link.a.take_outgoing() == [] and link.b.take_outgoing() == []
    assert link.a.next_deadline() is None


def test_simultaneous_close() -> None:
    link = pair()
    link.pump()
    link.a.close(CloseCode.SHUTTING_DOWN, "bye")
    link.b.close(CloseCode.NORMAL, "bye too")
    link.pump()
    assert link.events_a[-1] == Closed(CloseCode.SHUTTING_DOWN, "bye", by_peer=False)
    assert link.events_b[-1] == Closed(CloseCode.NORMAL, "bye too", by_peer=False)


def test_close_during_handshake_aborts_silently() -> None:
    a = Session(Role.INITIATOR, ALICE, now=0.0)
    a.take_outgoing()
    a.close(CloseCode.REFUSED, "changed my mind")
    assert a.state is State.CLOSED
    assert a.take_events() == [Closed(CloseCode.REFUSED, "changed my mind", by_peer=False)]
    assert a.take_outgoing() == []


def test_send_rules() -> None:
    a = Session(Role.INITIATOR, ALICE, now=0.0)
    with pytest.raises(SessionStateError):
        a.send(note("before the handshake"))
    link = MemoryLink(a, Session(Role.RESPONDER, BOB, now=0.0))
    link.pump()
    for control in (Ping(1), Close(0, "")):
        with pytest.raises(ProtocolError):
            a.send(control)
    assert a.state is State.ESTABLISHED


def test_construction_errors() -> None:
    with pytest.raises(ValueError, match="remote_static"):
        Session(Role.INITIATOR, ALICE, now=0.0, pattern="IK")
    with pytest.raises(ValueError, match="remote_static"):
        Session(Role.INITIATOR, ALICE, now=0.0, remote_static=BOB.static_public_key)
    with pytest.raises(ValueError, match="initiator"):
        Session(Role.INITIATOR, ALICE, now=0.0, pattern=None)
    with pytest.raises(ValueError, match="pattern"):
        Session(Role.RESPONDER, ALICE, now=0.0, pattern="NN")
    with pytest.raises(ValueError, match="capabilities"):
        Session(Role.RESPONDER, ALICE, now=0.0, capabilities=("x" * 33,))


def test_messages_the_peer_sent_before_seeing_our_close_are_delivered() -> None:
    link = pair()
    link.pump()
    link.a.close()
    link.b.send(note("crossing in flight"))
    link.pump()
    assert link.events_a[1:] == [
        MessageReceived(note("crossing in flight")),
        Closed(CloseCode.NORMAL, "", by_peer=False),
    ]


def test_long_close_reasons_are_clipped_on_a_character_boundary() -> None:
    link = pair()
    link.pump()
    link.a.close(CloseCode.NORMAL, "é" * 100)  # 200 UTF-8 bytes
    link.pump()
    closed = link.events_b[-1]
    assert isinstance(closed, Closed) and closed.by_peer
    assert closed.reason == "é" * 60
    with pytest.raises(ValueError, match="close code"):
        pair().a.close(70000)


PSK = bytes(range(32))


@pytest.mark.parametrize("pattern", ["IKpsk2", "XXpsk3"])
def test_pairing_patterns_with_the_right_psk(pattern: str) -> None:
    rs = BOB.static_public_key if pattern.startswith("IK") else None
    link = MemoryLink(
        Session(Role.INITIATOR, ALICE, now=0.0, pattern=pattern, remote_static=rs, psk=PSK),
        Session(Role.RESPONDER, BOB, now=0.0, pattern=pattern, psk=PSK),
    )
    link.pump()
    assert link.a.state is State.ESTABLISHED and link.b.state is State.ESTABLISHED
    done = link.events_b[0]
    assert isinstance(done, HandshakeComplete) and done.peer_identity_key == ALICE.public_key
    link.a.send(note("paired"))
    link.pump()
    assert link.events_b[1] == MessageReceived(note("paired"))


@pytest.mark.parametrize("pattern", ["IKpsk2", "XXpsk3"])
def test_pairing_patterns_with_a_wrong_psk_fail(pattern: str) -> None:
    rs = BOB.static_public_key if pattern.startswith("IK") else None
    link = MemoryLink(
        Session(Role.INITIATOR, ALICE, now=0.0, pattern=pattern, remote_static=rs, psk=PSK),
        Session(Role.RESPONDER, BOB, now=0.0, pattern=pattern, psk=bytes(32)),
    )
    link.pump()
    # The side that reads the first message that depends on the psk fails: Bob reads XXpsk3
    # message 3; in IKpsk2 the psk enters only at message 2, so Alice fails and Bob, who holds no
    # key confirmation yet, fails on her first transport frame (pairing must wait for one).
    detector, events = (link.b, link.events_b) if pattern == "XXpsk3" else (link.a, link.events_a)
    assert detector.state is State.FAILED
    assert not any(isinstance(e, HandshakeComplete) for e in events)
    failure = events[-1]
    assert isinstance(failure, ProtocolFailure) and isinstance(failure.error, DecryptError)
    if pattern == "IKpsk2":
        assert link.b.state is State.ESTABLISHED
        forged = Session(Role.INITIATOR, MALLORY, now=0.0).take_outgoing()[0]
        link.b.receive(forged, link.clock.now)
        assert link.b.state.value == "failed"


def test_psk_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="psk"):
        Session(Role.RESPONDER, BOB, now=0.0, pattern="XXpsk3")
    with pytest.raises(ValueError, match="psk"):
        Session(Role.RESPONDER, BOB, now=0.0, pattern="XX", psk=PSK)
    with pytest.raises(ValueError, match="32 bytes"):
        Session(Role.RESPONDER, BOB, now=0.0, pattern="XXpsk3", psk=b"short")
