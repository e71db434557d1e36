"""A mangled link: replayed, reordered, dropped, duplicated, truncated and bit-flipped frames end
the session with a ProtocolError, deliver nothing from the bad frame on, and send nothing back."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_dan.identity import Identity
from edge_dan.transports.memory import A_TO_B, B_TO_A, Fault, FaultInjector, MemoryLink
from edge_dan.wire.errors import DecryptError, FrameError, MessageError, ProtocolError
from edge_dan.wire.messages import Error, ErrorCode, HandshakePayload, Message, encode
from edge_dan.wire.session import (
    Event,
    HandshakeComplete,
    MessageReceived,
    ProtocolFailure,
    Role,
    Session,
    SessionLimits,
    State,
)

ALICE, BOB = Identity.generate(), Identity.generate()
TRANSPORT_FAULTS = [
    Fault.CORRUPT,
    Fault.TRUNCATE,
    Fault.DUPLICATE,
    Fault.REPLAY,
    Fault.REORDER,
    Fault.DROP,
]


def note(i: int) -> Error:
    return Error(ErrorCode.INTERNAL, 0, f"message {i}")


def established(faults: FaultInjector | None = None, pattern: str = "XX") -> MemoryLink:
    rs = BOB.static_public_key if pattern == "IK" else None
    link = MemoryLink(
        Session(Role.INITIATOR, ALICE, now=0.0, pattern=pattern, remote_static=rs),
        Session(Role.RESPONDER, BOB, now=0.0, pattern=None),
        faults=faults,
    )
    link.pump()
    return link


def received(events: Sequence[Event]) -> list[Message]:
    return [e.message for e in events if isinstance(e, MessageReceived)]


@pytest.mark.parametrize("fault", TRANSPORT_FAULTS, ids=lambda f: f.value)
@pytest.mark.parametrize("pattern", ["XX", "IK"])
def test_mangled_transport_frame_fails_the_session(fault: Fault, pattern: str) -> None:
    handshake_frames = 2 if pattern == "XX" else 1
    target = handshake_frames + 3  # the fourth application frame from Alice to Bob
    link = established(FaultInjector({(A_TO_B, target): fault}), pattern)
    for i in range(10):
        link.a.send(note(i))
    link.pump()
    assert link.b.state is State.FAILED
    failures = [e for e in link.events_b if isinstance(e, ProtocolFailure)]
    assert len(failures) == 1 and isinstance(failures[0].error, DecryptError)
    # Frames before the bad one arrived; the bad one and everything after it delivered nothing.
    # (a duplicate arrives right after the original; a replay one frame later)
    good = {Fault.DUPLICATE: 4, Fault.REPLAY: 5}.get(fault, 3)
    expected = [note(i) for i in range(good)]
    assert received(link.events_b) == expected
    assert link.frames_sent[B_TO_A] == 1  # Bob's handshake message; no error goes back
    # A failed session ignores whatever still arrives and never sends again.
    link.a.send(note(99))
    link.pump()
    assert received(link.events_b) == expected
    assert link.b.take_outgoing() == [] and link.b.next_deadline() is None


@pytest.mark.parametrize("fault", [Fault.CORRUPT, Fault.TRUNCATE, Fault.DUPLICATE, Fault.DROP])
@pytest.mark.parametrize("index", [0, 1])
@pytest.mark.parametrize("direction", [A_TO_B, B_TO_A])
def test_mangled_handshake_never_completes(fault: Fault, index: int, direction: str) -> None:
    if direction == B_TO_A and index == 1:
        return  # XX has one responder message
    link = established(FaultInjector({(direction, index): fault}))
    states = {link.a.state, link.b.state}
    assert states != {State.ESTABLISHED}, "both sides must never think the handshake worked"
    for events in (link.events_a, link.events_b):
        assert received(events) == []
        for event in events:
            if isinstance(event, ProtocolFailure):
                assert isinstance(event.error, ProtocolError)
    # Corruption or duplication is always detected by whoever reads the frame.
    if fault is not Fault.DROP:
        assert State.FAILED in states


def test_handshake_corruption_of_the_clear_first_message_is_caught_later() -> None:
    # XX message 1 is an unauthenticated ephemeral key: flipping a bit changes the DH results,
    # so the responder's message 2 fails to decrypt at the initiator.
    link = established(FaultInjector({(A_TO_B, 0): Fault.CORRUPT}))
    assert link.a.state is State.FAILED
    assert isinstance(link.events_a[0], ProtocolFailure)


def test_oversize_frame_fails() -> None:
    limits = SessionLimits(max_frame_size=1024)
    link = MemoryLink(
        Session(Role.INITIATOR, ALICE, now=0.0),
        Session(Role.RESPONDER, BOB, now=0.0, limits=limits),
    )
    link.pump()
    link.b.receive(b"\x00" * 1025, link.clock.now)
    assert link.b.state is State.FAILED
    (event,) = link.b.take_events()
    assert isinstance(event, ProtocolFailure) and isinstance(event.error, FrameError)


def test_oversize_message_fails_the_receiver() -> None:
    small = SessionLimits(max_message_size=100)
    link = MemoryLink(
        Session(Role.INITIATOR, ALICE, now=0.0),
        Session(Role.RESPONDER, BOB, now=0.0, limits=small),
    )
    link.pump()
    link.a.send(Error(ErrorCode.INTERNAL, 0, "x" * 110))
    link.pump()
    assert link.b.state is State.FAILED
    assert isinstance(link.events_b[-1], ProtocolFailure)
    assert isinstance(link.events_b[-1].error, MessageError)
    assert received(link.events_b) == []


def test_handshake_payload_after_the_handshake_fails() -> None:
    link = established()
    assert link.a._send_cipher is not None
    payload = HandshakePayload(1, ALICE.public_key, ALICE.static_signature, ())
    link.b.receive(link.a._send_cipher.encrypt(encode(payload)), link.clock.now)
    assert link.b.state is State.FAILED


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frames=st.lists(st.binary(max_size=200), min_size=1, max_size=4),
    stage=st.sampled_from(["responder-fresh", "initiator-waiting", "established"]),
)
def test_fuzz_receive_never_raises_and_never_delivers(frames: list[bytes], stage: str) -> None:
    if stage == "responder-fresh":
        target = Session(Role.RESPONDER, BOB, now=0.0, pattern=None)
    elif stage == "initiator-waiting":
        target = Session(Role.INITIATOR, ALICE, now=0.0)
    else:
        target = _established_b()
    for frame in frames:
        target.receive(frame, 0.0)  # nothing may escape, not even a ProtocolError
    events = target.take_events()
    assert all(not isinstance(e, MessageReceived | HandshakeComplete) for e in events)
    assert all(isinstance(e.error, ProtocolError) for e in events if isinstance(e, ProtocolFailure))
    assert target.state in (State.HANDSHAKE, State.FAILED)


def _established_b() -> Session:
    link = established()
    link.b.take_events()
    return link.b


def test_every_flipped_byte_and_every_truncation_of_a_transport_frame_is_refused() -> None:
    link = established()
    link.a.send(note(1))
    (frame,) = link.a.take_outgoing()
    forgeries = [frame[:i] + bytes([frame[i] ^ 0x80]) + frame[i + 1 :] for i in range(len(frame))]
    forgeries += [frame[:i] for i in range(1, len(frame))] + [frame + b"\x00"]
    for forged in forgeries:
        b = _established_b()
        b.receive(forged, 0.0)
        assert b.state is State.FAILED
        (event,) = b.take_events()
        assert isinstance(event, ProtocolFailure)


def test_frames_of_another_session_are_refused() -> None:
    first, second = established(), established()
    first.a.send(note(1))
    second.b.receive(first.a.take_outgoing()[0], second.clock.now)
    assert second.b.state is State.FAILED
