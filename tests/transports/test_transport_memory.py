"""The in-memory link: clock, fault injector, and many agents in one process."""

from __future__ import annotations

import itertools

import pytest

from edge_dan.identity import Identity
from edge_dan.transports.memory import A_TO_B, B_TO_A, Fault, FaultInjector, ManualClock, MemoryLink
from edge_dan.wire.messages import Error, ErrorCode
from edge_dan.wire.session import HandshakeComplete, MessageReceived, Role, Session, State


def test_fault_injector_shapes() -> None:
    faults = FaultInjector(
        {
            (A_TO_B, 0): Fault.DROP,
            (A_TO_B, 1): Fault.CORRUPT,
            (A_TO_B, 2): Fault.TRUNCATE,
            (A_TO_B, 3): Fault.DUPLICATE,
            (A_TO_B, 4): Fault.REORDER,
            (A_TO_B, 6): Fault.REPLAY,
        }
    )
    out = [faults.apply(A_TO_B, bytes([i]) * 4) for i in range(8)]
    assert out == [
        [],
        [b"\x01\x01\x00\x01"],
        [b"\x02\x02\x02"],
        [b"\x03" * 4, b"\x03" * 4],
        [],
        [b"\x05" * 4, b"\x04" * 4],
        [b"\x06" * 4],
        [b"\x07" * 4, b"\x06" * 4],
    ]
    assert faults.apply(B_TO_A, b"x") == [b"x"]  # directions are counted apart


def test_manual_clock() -> None:
    clock = ManualClock(5.0)
    assert clock.advance(2.5) == 7.5
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_many_agents_in_one_process() -> None:
    agents = [Identity.generate() for _ in range(12)]
    clock = ManualClock()
    links = []
    for (i, x), (j, y) in itertools.combinations(enumerate(agents), 2):
        link = MemoryLink(
            Session(Role.INITIATOR, x, now=clock.now, capabilities=(f"agent{i}",)),
            Session(Role.RESPONDER, y, now=clock.now, capabilities=(f"agent{j}",)),
            clock=clock,
        )
        link.pump()
        link.a.send(Error(ErrorCode.INTERNAL, 0, f"{i} greets {j}"))
        link.pump()
        links.append((i, j, link))
    assert len(links) == 66
    for i, j, link in links:
        done = link.events_b[0]
        assert isinstance(done, HandshakeComplete)
        assert done.peer_identity_key == agents[i].public_key
        assert done.peer_capabilities == (f"agent{i}",)
        assert link.events_b[1] == MessageReceived(Error(ErrorCode.INTERNAL, 0, f"{i} greets {j}"))
    clock.advance(100.0)
    for _, _, link in links:
        link.advance(0.0)
    assert all(link.a.state is State.CLOSED for _, _, link in links)  # nobody ticked in time


def test_pump_refuses_to_spin_forever() -> None:
    alice, bob = Identity.generate(), Identity.generate()

    class Chatty(Session):
        def take_outgoing(self) -> list[bytes]:
            return [b"x"] if self.state is State.FAILED else super().take_outgoing()

    link = MemoryLink(
        Session(Role.INITIATOR, alice, now=0.0),
        Chatty(Role.RESPONDER, bob, now=0.0),
        max_rounds=50,
    )
    link.pump()
    link.b.receive(b"garbage", link.clock.now)
    with pytest.raises(RuntimeError, match="still busy"):
        link.pump()
