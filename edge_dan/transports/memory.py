"""An in-memory link between two sessions: for tests and for simulating many agents in one process.

No asyncio and no real time: ``MemoryLink.pump()`` moves frames between two ``Session`` objects
until neither has anything to send, a ``ManualClock`` gives the time, and a ``FaultInjector``
can drop, corrupt, truncate, duplicate, replay or reorder chosen frames on the way::

    clock = ManualClock()
    a = Session(Role.INITIATOR, alice, now=clock.now)
    b = Session(Role.RESPONDER, bob, now=clock.now)
    link = MemoryLink(a, b, clock=clock)
    link.pump()                       # handshake
    a.send(message); link.pump()      # b's event list now holds MessageReceived(message)
    link.advance(15.0)                # ticks both sessions, pumps their keepalives

Frames are counted per direction from 0, handshake messages included, so a test can aim a fault
at, say, the third frame from A to B.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from edge_dan.wire.session import Event, Session

A_TO_B = "a->b"
B_TO_A = "b->a"


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("time does not run backwards")
        self.now += seconds
        return self.now


class Fault(Enum):
    DROP = "drop"  # the frame never arrives
    CORRUPT = "corrupt"  # one bit flipped (the middle byte's lowest bit)
    TRUNCATE = "truncate"  # the last byte is cut off
    DUPLICATE = "duplicate"  # delivered twice in a row
    REPLAY = "replay"  # delivered, then delivered again after the next frame
    REORDER = "reorder"  # held back and delivered after the next frame


@dataclass
class FaultInjector:
    """Faults keyed by (direction, frame index): ``{(A_TO_B, 3): Fault.CORRUPT}``."""

    faults: dict[tuple[str, int], Fault] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=lambda: {A_TO_B: 0, B_TO_A: 0})
    _held: dict[str, deque[bytes]] = field(
        default_factory=lambda: {A_TO_B: deque(), B_TO_A: deque()}
    )

    def apply(self, direction: str, frame: bytes) -> list[bytes]:
        """The frames that reach the other side when ``frame`` is sent in ``direction``."""
        index = self._counts[direction]
        self._counts[direction] = index + 1
        held = self._held[direction]
        released = list(held)
        held.clear()
        fault = self.faults.get((direction, index))
        if fault is Fault.DROP:
            return released
        if fault is Fault.CORRUPT:
            middle = len(frame) // 2
            frame = frame[:middle] + bytes([frame[middle] ^ 0x01]) + frame[middle + 1 :]
        elif fault is Fault.TRUNCATE:
            frame = frame[:-1]
        elif fault is Fault.DUPLICATE:
            return [frame, frame, *released]
        elif fault is Fault.REPLAY:
            held.append(frame)
        elif fault is Fault.REORDER:
            held.append(frame)
            return released
        return [frame, *released]


class MemoryLink:
    """Two sessions joined back to back; events each side produced are kept in order."""

    def __init__(
        self,
        a: Session,
        b: Session,
        *,
        clock: ManualClock | None = None,
        faults: FaultInjector | None = None,
        max_rounds: int = 10_000,
    ) -> None:
        self.a, self.b = a, b
        self.clock = clock or ManualClock()
        self.faults = faults
        self.max_rounds = max_rounds
        self.events_a: list[Event] = []
        self.events_b: list[Event] = []
        self.frames_sent = {A_TO_B: 0, B_TO_A: 0}
        self.bytes_sent = {A_TO_B: 0, B_TO_A: 0}

    def pump(self) -> int:
        """Deliver frames both ways until both sides are quiet; returns frames delivered."""
        delivered = 0
        for _ in range(self.max_rounds):
            moved = self._move(self.a, self.b, A_TO_B) + self._move(self.b, self.a, B_TO_A)
            self.events_a += self.a.take_events()
            self.events_b += self.b.take_events()
            if not moved:
                return delivered
            delivered += moved
        raise RuntimeError(f"the link was still busy after {self.max_rounds} rounds")

    def tick(self) -> None:
        """Tick both sessions at the clock's time, then pump."""
        self.a.tick(self.clock.now)
        self.b.tick(self.clock.now)
        self.pump()

    def advance(self, seconds: float, step: float | None = None) -> None:
        """Move the clock forward ``seconds``, ticking every ``step`` seconds (default: once)."""
        end = self.clock.now + seconds
        if step is not None:
            if step <= 0:
                raise ValueError("step must be positive")
            while self.clock.now + step < end:
                self.clock.advance(step)
                self.tick()
        self.clock.now = end
        self.tick()

    def _move(self, sender: Session, receiver: Session, direction: str) -> int:
        frames = sender.take_outgoing()
        moved = 0
        for frame in frames:
            self.frames_sent[direction] += 1
            self.bytes_sent[direction] += len(frame)
            arriving = [frame] if self.faults is None else self.faults.apply(direction, frame)
            for delivered in arriving:
                receiver.receive(delivered, self.clock.now)
                moved += 1
        return moved or len(frames)
