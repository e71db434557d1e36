"""Who a listener lets in while they are still strangers: bounds on unauthenticated handshakes.

A connection costs the attacker one SYN and nothing more until it completes a handshake, so a
listener that counts handshakes in progress against its sessions can be filled by anyone on the
network with silent connections. Handshakes in progress are therefore bounded apart from the
sessions that completed one:

- each has a short time to complete (``handshake_timeout``), whatever the session allows later;
- at most ``max_per_source`` run from one address: a new one beyond that sheds that address's
  oldest silent one (nothing received from it yet), or its oldest if none is silent, so a flood
  from one host takes at most that many slots, and a partner behind the same address (a NAT)
  keeps its slot once its first handshake message has arrived;
- at most ``max_pending`` run in all: a new one beyond that sheds the oldest silent one of all
  (or the oldest). A genuine handshake takes milliseconds and a silent one waits for its
  timeout, so the oldest are nearly always silent ones, and established sessions are never
  touched.

``HandshakeGate`` is the bookkeeping alone (no sockets, no clock): the transport registers each
connection as it arrives, aborts whatever ``admit`` returns, and calls ``done`` when the handshake
ended either way; ``silent`` tells whether a connection has sent nothing yet.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")


@dataclass(frozen=True)
class HandshakeLimits:
    """The bounds on handshakes in progress (see the module docstring)."""

    max_pending: int = 64  # handshakes in progress at once, from anyone
    max_per_source: int = 8  # handshakes in progress at once from one address
    handshake_timeout: float = 3.0  # seconds a connection has to complete its handshake

    def __post_init__(self) -> None:
        if not 1 <= self.max_per_source <= self.max_pending:
            raise ValueError("need 1 <= max_per_source <= max_pending")
        if not (math.isfinite(self.handshake_timeout) and self.handshake_timeout > 0):
            raise ValueError("handshake_timeout must be a positive number of seconds")


class HandshakeGate(Generic[K]):
    """Handshakes in progress, oldest first, and which to shed when a new one arrives."""

    def __init__(self, limits: HandshakeLimits) -> None:
        self.limits = limits
        self._pending: OrderedDict[K, str] = OrderedDict()  # connection -> source address
        self._per_source: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def from_source(self, source: str) -> int:
        """Handshakes in progress from ``source`` now."""
        return self._per_source.get(source, 0)

    def admit(self, key: K, source: str, silent: Callable[[K], bool] = bool) -> list[K]:
        """Register a new handshake from ``source``; the older ones to shed to make room
        (the oldest for which ``silent`` is true, else the oldest)."""
        shed: list[K] = []
        if self.from_source(source) >= self.limits.max_per_source:
            same = [k for k, s in self._pending.items() if s == source]
            shed.append(_first_silent(same, silent))
            self.done(shed[-1])
        if len(self._pending) >= self.limits.max_pending:
            shed.append(_first_silent(self._pending, silent))
            self.done(shed[-1])
        self._pending[key] = source
        self._per_source[source] = self.from_source(source) + 1
        return shed

    def done(self, key: K) -> None:
        """The handshake of ``key`` ended (completed, failed or shed); nothing if unknown."""
        source = self._pending.pop(key, None)
        if source is None:
            return
        left = self._per_source[source] - 1
        if left:
            self._per_source[source] = left
        else:
            del self._per_source[source]


def _first_silent(keys: Iterable[K], silent: Callable[[K], bool]) -> K:
    """The oldest of ``keys`` (oldest first, not empty) that is silent, else the oldest."""
    ordered = list(keys)
    return next((key for key in ordered if silent(key)), ordered[0])


__all__ = ["HandshakeGate", "HandshakeLimits"]
