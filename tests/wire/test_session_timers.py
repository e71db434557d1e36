"""Time as input: handshake timeout, keepalive schedule, dead peer, close timeout; send limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

import pytest

from edge_dan.identity import Identity
from edge_dan.transports.memory import A_TO_B, B_TO_A, ManualClock, MemoryLink
from edge_dan.wire.errors import MessageError, MessageTooLarge, SendBufferFull
from edge_dan.wire.messages import (
    Bytes,
    CloseCode,
    Error,
    ErrorCode,
    Message,
    Ping,
    Pong,
    Wire,
    decode,
    register,
    schema,
)
from edge_dan.wire.session import Closed, MessageReceived, Role, Session, SessionLimits, State

ALICE, BOB = Identity.generate(), Identity.generate()
LIMITS = SessionLimits(
    handshake_timeout=5.0, keepalive_interval=10.0, dead_peer_intervals=3, close_timeout=2.0
)


def link_at(start: float = 100.0, limits: SessionLimits = LIMITS) -> MemoryLink:
    clock = ManualClock(start)
    link = MemoryLink(
        Session(Role.INITIATOR, ALICE, now=clock.now, limits=limits),
        Session(Role.RESPONDER, BOB, now=clock.now, limits=limits),
        clock=clock,
    )
    link.pump()
    assert link.a.state is State.ESTABLISHED
    return link


def test_handshake_timeout() -> None:
    a = Session(Role.INITIATOR, ALICE, now=100.0, limits=LIMITS)
    a.take_outgoing()
    assert a.next_deadline() == 105.0
    a.tick(104.9)
    assert a.state is State.HANDSHAKE and a.take_events() == []
    a.tick(105.0)
    assert a.state.value == "closed"
    assert a.take_events() == [Closed(CloseCode.TIMEOUT, "the handshake timed out", by_peer=False)]
    assert a.take_outgoing() == []


def test_responder_handshake_timeout_when_the_initiator_vanishes() -> None:
    b = Session(Role.RESPONDER, BOB, now=0.0, limits=LIMITS)
    b.receive(Session(Role.INITIATOR, ALICE, now=0.0).take_outgoing()[0], 1.0)
    assert len(b.take_outgoing()) == 1
    b.tick(5.0)
    assert b.state is State.CLOSED


def test_pings_go_out_on_schedule_and_are_answered() -> None:
    link = link_at()
    # Only Alice is ticked: she pings every 10 s of silence, Bob answers, and she stays alive.
    sent: list[tuple[float, object]] = []
    for t in range(1, 61):
        link.clock.now = 100.0 + t
        link.a.tick(link.clock.now)
        for frame in link.a.take_outgoing():
            assert link.b._recv_cipher is not None
            sent.append((link.clock.now, decode(link.b._recv_cipher.copy().decrypt(frame))))
            link.b.receive(frame, link.clock.now)
        link.pump()
    assert [(t, m) for t, m in sent] == [(110.0 + 10 * i, Ping(i)) for i in range(6)]
    assert link.a.state is State.ESTABLISHED and link.b.state is State.ESTABLISHED
    assert not any(isinstance(e, MessageReceived) for e in link.events_a + link.events_b)


def test_pong_answers_carry_the_ping_counter() -> None:
    link = link_at()
    link.clock.now = 110.0
    link.a.tick(110.0)
    (ping,) = link.a.take_outgoing()
    link.b.receive(ping, link.clock.now)
    (pong,) = link.b.take_outgoing()
    assert link.a._recv_cipher is not None
    assert decode(link.a._recv_cipher.copy().decrypt(pong)) == Pong(0)


def test_silent_peer_is_declared_dead_at_the_configured_timeout() -> None:
    link = link_at()
    pings = 0
    for t in range(1, 31):
        link.a.tick(100.0 + t)
        frames = link.a.take_outgoing()  # Bob hears nothing: he is dead
        pings += len(frames)
        if t < 30:
            assert link.a.state is State.ESTABLISHED
    assert pings == 2 + 1  # pings at 110 and 120, then a best-effort Close at 130
    assert link.a.state is State.CLOSED
    (closed,) = [e for e in link.a.take_events() if isinstance(e, Closed)]
    assert closed.code == CloseCode.TIMEOUT and not closed.by_peer
    assert link.a.next_deadline() is None


def test_traffic_resets_the_dead_peer_timer() -> None:
    link = link_at()
    for t in range(1, 200):
        link.clock.now = 100.0 + t
        if t % 9 == 0:
            link.b.send(Error(ErrorCode.INTERNAL, 0, "still here"))
            link.pump()
        link.a.tick(link.clock.now)
        link.a.take_outgoing()  # Alice's pings go nowhere, but Bob keeps talking
    assert link.a.state is State.ESTABLISHED


def test_both_sides_ticked_stay_alive_for_an_hour() -> None:
    link = link_at()
    link.advance(3600.0, step=1.0)
    assert link.a.state is State.ESTABLISHED and link.b.state is State.ESTABLISHED
    # roughly one ping per interval from each side, never more
    assert link.frames_sent[A_TO_B] <= 2 + 2 * 360 and link.frames_sent[B_TO_A] <= 1 + 2 * 360


def test_close_timeout_when_the_peer_never_answers() -> None:
    link = link_at()
    link.a.close(CloseCode.NORMAL, "bye")
    link.a.take_outgoing()  # lost
    link.a.tick(101.9)
    assert link.a.state is State.CLOSING
    link.a.tick(102.0)
    assert link.a.state.value == "closed"
    assert link.a.take_events()[-1] == Closed(CloseCode.NORMAL, "bye", by_peer=False)


def test_oversize_message_is_refused_at_send() -> None:
    link = link_at(limits=SessionLimits(max_message_size=100))
    with pytest.raises(MessageError):
        link.a.send(Error(ErrorCode.INTERNAL, 0, "x" * 110))
    assert link.a.state is State.ESTABLISHED and link.a.pending_bytes == 0
    link.a.send(Error(ErrorCode.INTERNAL, 0, "x" * 80))


def test_frame_limit_is_checked_at_send(monkeypatch: pytest.MonkeyPatch) -> None:
    # A big test-only message type, registered in a throwaway copy of the registry.
    monkeypatch.setattr(schema, "_REGISTRY", dict(schema._REGISTRY))

    @register
    @dataclass(frozen=True)
    class Message1K(Message):
        TYPE_ID: ClassVar[int] = 0xFFE0
        blob: Annotated[bytes, Wire(0, Bytes(4096))]

    link = link_at(limits=SessionLimits(max_frame_size=1024))
    big = Error(ErrorCode.INTERNAL, 0, "x" * 120)
    with pytest.raises(MessageTooLarge):
        link.a.send(Message1K(b"z" * 1000))
    link.a.send(big)


def test_pending_bytes_limit() -> None:
    limits = SessionLimits(max_pending_bytes=65537 + 1000)
    link = link_at(limits=limits)
    message = Error(ErrorCode.INTERNAL, 0, "y" * 100)
    link.a.send(message)
    frame_size = len(link.a.take_outgoing()[0])
    fits = limits.max_pending_bytes // frame_size
    for _ in range(fits):
        link.a.send(message)
    assert link.a.pending_bytes == fits * frame_size
    with pytest.raises(SendBufferFull, match="wait for the transport"):
        link.a.send(message)
    assert link.a.pending_bytes == fits * frame_size  # a refused send changes nothing
    assert len(link.a.take_outgoing()) == fits
    link.a.send(message)  # drained: room again
    assert link.a.state is State.ESTABLISHED


def test_limits_are_validated() -> None:
    for bad in (
        {"max_frame_size": 10},
        {"max_message_size": 70000},
        {"max_pending_bytes": 100},
        {"keepalive_interval": 0.0},
        {"handshake_timeout": float("nan")},
        {"dead_peer_intervals": 0},
    ):
        with pytest.raises(ValueError):  # noqa: PT011
            SessionLimits(**bad)
