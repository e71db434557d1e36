"""The one contract every sans-IO protocol core follows.

A *core* is a protocol as a plain state machine: the Noise session (:mod:`edge_dan.wire.session`),
numeric-comparison pairing (:mod:`edge_dan.pairing.numeric`) and both negotiation protocols
(:mod:`edge_dan.negotiation.protocols`). It never opens a socket, starts a task or reads a clock.
Whatever runs it (a transport, the one asyncio driver in :mod:`edge_dan.transports.driver`, a test
that steps it by hand, a simulator of a thousand negotiations) talks to it through five methods
and one property, with the same names and the same time convention in every core::

    core.receive(item, now)   # one input item from a peer
    core.tick(now)            # time passes: timeouts, keepalives, deadlines
    core.next_deadline()      # the earliest ``now`` at which ``tick`` has work, or None
    core.take_outgoing()      # every item to send, oldest first (the list is emptied)
    core.take_events()        # every event for the application, oldest first (emptied)
    core.finished             # True once it has ended (the outcome is among its events)

What the items are is each core's nature, so the contract is generic over them:

- the session's input and output are *frames* (bytes): it is the layer that turns frames into
  messages, and its events carry the decoded messages;
- every core above it takes typed :class:`~edge_dan.wire.messages.schema.Message` values and
  gives typed messages back, never bytes, so no layer decodes what another layer encoded for it.
  A core that talks to several peers takes :class:`Incoming` (the message and who sent it, as the
  session's handshake proved) and gives :class:`Outgoing` (the message and its recipient).

Time is always input, as float seconds on a clock the caller chooses and keeps to (``now`` never
goes backwards for one core). A core whose wire fields hold wall-clock milliseconds (the
negotiation's deadlines and accord timestamps) converts inside and says in its docstring which
clock it expects; the others take any monotonic clock.

Failure is an event, not an exception: nothing a peer sends makes ``receive`` raise. Raising is
kept for the caller's own mistakes (asking a core for something its state does not allow).
Outputs and events are queued, never pushed: a caller that acts on an event (an owner's answer)
calls the core's own method for it (``decide``, ``confirm``) and then takes the outgoing items
again. Starting a core (``start``) is each core's own business too, as its inputs differ.

Why one contract: before it, each core had its own names (``receive_frame``, ``frames_to_send``,
``events``; ``receive(sender, data, now_ms)``; ``receive`` returning the reply), its own clock
(seconds or milliseconds) and its own idea of bytes or messages, and each place that ran one
wrote its own loop and re-encoded messages between layers. With one contract, one driver runs
them all and one test harness steps any of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from edge_dan.wire.messages.schema import Message

In_contra = TypeVar("In_contra", contravariant=True)
Out_co = TypeVar("Out_co", covariant=True)
Ev_co = TypeVar("Ev_co", covariant=True)
Out = TypeVar("Out")
Ev = TypeVar("Ev")


class Core(Protocol[In_contra, Out_co, Ev_co]):
    """A sans-IO protocol core: ``In_contra`` items in, ``Out_co`` items and ``Ev_co`` events out.

    See the module docstring for the contract; every method is cheap and never blocks.
    """

    def receive(self, item: In_contra, now: float) -> None:
        """Handle one item from a peer at time ``now``; never raises for what the peer sent."""
        ...

    def tick(self, now: float) -> None:
        """Let time pass up to ``now``."""
        ...

    def next_deadline(self) -> float | None:
        """The earliest time at which ``tick`` has something to do (None: no timer pending)."""
        ...

    def take_outgoing(self) -> Sequence[Out_co]:
        """Every item to send, oldest first; the core forgets them."""
        ...

    def take_events(self) -> Sequence[Ev_co]:
        """Every event not yet taken, oldest first; the core forgets them."""
        ...

    @property
    def finished(self) -> bool:
        """Whether the core has ended: its outcome is in the events it queued, and whoever
        drives it stops feeding it."""
        ...


@dataclass(frozen=True)
class Incoming:
    """A message for a core that talks to several peers, with the peer that sent it.

    ``sender`` is the key the session proved in its handshake (an Ed25519 identity key for the
    agent's sessions), never anything the message itself claims.
    """

    sender: bytes
    message: Message


@dataclass(frozen=True)
class Outgoing:
    """A message a core that talks to several peers wants sent to ``recipient``."""

    recipient: bytes
    message: Message


class Queues(Generic[Out, Ev]):
    """The two queues of a core that talks in messages: ``_outgoing`` (items to send) and
    ``_events`` (what happened), which the core appends to and the caller takes whole."""

    def __init__(self) -> None:
        self._outgoing: list[Out] = []
        self._events: list[Ev] = []

    def take_outgoing(self) -> list[Out]:
        """Items to send, oldest first (the list is emptied)."""
        out, self._outgoing = self._outgoing, []
        return out

    def take_events(self) -> list[Ev]:
        """Events for the owner or the application, oldest first (the list is emptied)."""
        out, self._events = self._events, []
        return out
