"""The core both protocols share: states, events and the party base.

See :mod:`.mediated` and :mod:`.ao` for the protocols themselves and what each message reveals.
:class:`Party` holds what every party of either shares: the outbox and event list, the
invitation check, the deadline, walking away, and the commit point (the non-harm check right
before signing).

Every party follows the core contract of :mod:`edge_dan.wire.core`: typed messages in with the
peer that sent them (:class:`~edge_dan.wire.core.Incoming`), :class:`~edge_dan.wire.core.Outgoing`
messages and :class:`Event` values out, never bytes. Time is input, as float seconds on the wall
clock (Unix time, as ``time.time()`` gives it): deadlines and accord timestamps travel as
wall-clock milliseconds, the same for every party, so a party converts ``now`` to milliseconds
inside and all parties' clocks must roughly agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from edge_dan.identity import Identity
from edge_dan.negotiation.accords.accord import Accord, space_digest
from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.domain.outcomes import Outcome
from edge_dan.negotiation.strategy import LittleDan
from edge_dan.wire.core import Incoming, Outgoing, Queues
from edge_dan.wire.messages.negotiation import (
    NEGOTIATION_ID_LEN,
    Invite,
    Withdraw,
    WithdrawCode,
)
from edge_dan.wire.messages.schema import Message

NO_NORMS = bytes(32)
"""Norms digest of a negotiation under no group norms."""


class ProtocolViolation(NegotiationError):
    """A peer broke the protocol; raised inside the core, reported as a :class:`Failed` event."""


class State(Enum):
    """Where a party stands."""

    IDLE = "idle"  # participant: no invitation yet; mediator: not started
    BIDDING = "bidding"  # rounds are running
    PROPOSING = "proposing"  # mediator: waiting for answers (and its owner)
    DECIDING = "deciding"  # participant: waiting for its owner's yes or no
    ANSWERED = "answered"  # participant: answered a proposal
    AGREED = "agreed"  # the accord is complete and verified
    FAILED = "failed"  # ended without agreement

    @property
    def terminal(self) -> bool:
        """Whether nothing more can happen."""
        return self in (State.AGREED, State.FAILED)


@dataclass(frozen=True)
class Agreed:
    """Every party signed: ``accord`` verifies offline."""

    accord: Accord


@dataclass(frozen=True)
class Failed:
    """The negotiation ended without agreement, for ``code`` (and a person-readable detail)."""

    code: WithdrawCode
    detail: str


@dataclass(frozen=True)
class ApprovalNeeded:
    """Mode ``ask``: the owner must say yes or no (:meth:`Party.decide`) to ``outcome``.

    An app answers it in the agent's ``on_approval`` callback; nothing is signed without a yes::

        async def approve(negotiation_id: bytes, request: ApprovalNeeded) -> bool:
            terms = ", ".join(f"{issue}: {value}" for issue, value in request.outcome)
            return await ask_owner_on_screen(terms)  # the app's own dialog

        agent = Agent(owner, on_approval=approve, ...)
    """

    outcome: Outcome
    utility: float


@dataclass(frozen=True)
class Ignored:
    """A message was dropped without effect (stranger, or after the end)."""

    sender: bytes
    detail: str


Event = Agreed | Failed | ApprovalNeeded | Ignored


def to_ms(seconds: float) -> int:
    """Wall-clock seconds as the whole milliseconds of the wire (deadlines, accord times)."""
    return round(seconds * 1000)


def new_negotiation_id(entropy: bytes) -> bytes:
    """A negotiation id from 16 random bytes the caller supplies (sans-IO: no randomness here)."""
    if len(entropy) != NEGOTIATION_ID_LEN:
        raise NegotiationError(f"a negotiation id is {NEGOTIATION_ID_LEN} bytes")
    return bytes(entropy)


class Party(Queues[Outgoing, Event]):
    """Shared machinery of every party of either protocol; a core (:mod:`edge_dan.wire.core`)."""

    def __init__(self, identity: Identity, strategy: LittleDan, norms_digest: bytes) -> None:
        super().__init__()
        self.identity = identity
        self._public_key = identity.public_key  # derived from the seed: compute once
        self.strategy = strategy
        self.space = strategy.space
        self.space_digest = space_digest(self.space)
        self.norms_digest = norms_digest
        self.state = State.IDLE
        self.negotiation_id = b""
        self.parties: tuple[bytes, ...] = ()
        self.deadline_ms = 0
        self.max_rounds = 0
        self.levels = 0
        self.levels_per_round = 0
        self.round = 0
        self.accord: Accord | None = None

    @property
    def public_key(self) -> bytes:
        """This party's identity key."""
        return self._public_key

    @property
    def finished(self) -> bool:
        """Whether the negotiation ended (agreed or failed)."""
        return self.state.terminal

    def next_deadline(self) -> float | None:
        """When ``tick`` ends a running negotiation: its deadline (wall-clock seconds), if any."""
        running = not self.state.terminal and self.state is not State.IDLE
        return self.deadline_ms / 1000 if running and self.deadline_ms else None

    # -- helpers -----------------------------------------------------------------------------

    def _send(self, recipient: bytes, message: Message) -> None:
        self._outgoing.append(Outgoing(recipient, message))

    def _send_to_others(self, message: Message) -> None:
        for peer in self._others():
            self._send(peer, message)

    def _take_terms(
        self,
        negotiation_id: bytes,
        parties: tuple[bytes, ...],
        max_rounds: int,
        deadline: float | None,
    ) -> None:
        """The terms an initiating party sets (its protocol checked ``parties`` and
        ``max_rounds``): the id, who takes part, the round limit and the deadline."""
        if self.space.cardinality > 2**32:
            raise NegotiationError("outcome indices must fit 32 bits")
        self.negotiation_id = new_negotiation_id(negotiation_id)
        self.parties = parties
        self.max_rounds = max_rounds
        self.deadline_ms = 0 if deadline is None else to_ms(deadline)

    def _check_startable(self, now: float) -> None:
        """Raise unless an initiating party may send its invitations at ``now``."""
        if self.state is not State.IDLE:
            raise NegotiationError("this negotiation has already started")
        if self._past_deadline(to_ms(now)):
            raise NegotiationError("the deadline is already past")

    def _fail(self, code: WithdrawCode, detail: str, notify: Sequence[bytes]) -> None:
        for peer in notify:
            self._send(peer, Withdraw(self.negotiation_id, int(code)))
        self.state = State.FAILED
        self._events.append(Failed(code, detail))

    def _others(self) -> tuple[bytes, ...]:
        return tuple(p for p in self.parties if p != self.public_key)

    def _notify_on_end(self) -> Sequence[bytes]:
        raise NotImplementedError

    def _local_deadline(self, invited_ms: int, now_ms: int) -> int:
        """The deadline an invited party keeps: the invitation's, or sooner, as the owner's
        policy caps how long a negotiation may run (an invitation may name none: 0)."""
        cap = now_ms + math.ceil(self.strategy.policy.max_duration * 1000)
        return cap if invited_ms == 0 else min(invited_ms, cap)

    def _past_deadline(self, now_ms: int) -> bool:
        return self.deadline_ms != 0 and now_ms >= self.deadline_ms

    def _proposal_accord(self, outcome_index: int, time_ms: int) -> Accord:
        outcome = self.space.outcome_at(outcome_index)
        return Accord.of(self.negotiation_id, self.parties, self.space, outcome, time_ms)

    def _concluded_accord(
        self, outcome_index: int, time_ms: int, signatures: tuple[bytes, ...]
    ) -> Accord:
        """The accord on a proposal with ``signatures`` (one per party, in party order); the
        caller verifies it."""
        accord = self._proposal_accord(outcome_index, time_ms)
        return Accord(
            accord.negotiation_id,
            accord.parties,
            accord.outcome,
            accord.time_ms,
            accord.space_digest,
            signatures,
        )

    # -- public inputs -----------------------------------------------------------------------

    def receive(self, item: Incoming, now: float) -> None:
        """Handle a message a peer sent; outputs go to the outbox and the event list.

        ``item.sender`` must be the identity key the peer's session proved.
        """
        sender, now_ms = item.sender, to_ms(now)
        if self.state.terminal:
            self._events.append(Ignored(sender, "negotiation already ended"))
            return
        if self.parties and sender not in self._others():
            self._events.append(Ignored(sender, "sender is not a party of this negotiation"))
            return
        if self._past_deadline(now_ms):
            self._fail(WithdrawCode.DEADLINE, "the deadline passed", self._notify_on_end())
            return
        try:
            self._dispatch(sender, item.message, now_ms)
        except ProtocolViolation as violation:
            self._fail(WithdrawCode.PROTOCOL_ERROR, str(violation), self._notify_on_end())

    def tick(self, now: float) -> None:
        """Let time pass: ends the negotiation once the deadline is reached."""
        deadline = self.next_deadline()
        if deadline is not None and self._past_deadline(to_ms(now)):
            self._fail(WithdrawCode.DEADLINE, "the deadline passed", self._notify_on_end())

    def withdraw(self, now: float) -> None:
        """Walk away now (the owner's right at any time)."""
        del now
        if not self.state.terminal:
            self._fail(WithdrawCode.WALK_AWAY, "this party walked away", self._notify_on_end())

    def decide(self, approve: bool, now: float) -> None:
        """The owner's answer to the pending :class:`ApprovalNeeded`."""
        raise NotImplementedError

    def _dispatch(self, sender: bytes, message: Message, now_ms: int) -> None:
        raise NotImplementedError

    def _open_invitation(self, sender: bytes, invite: Message, now_ms: int) -> Invite | None:
        """The first message, if it is an invitation this party can take; else None, with the
        reason already reported (ignored if it is no invitation, declined if it does not fit)."""
        if not isinstance(invite, Invite):
            self._events.append(Ignored(sender, "expected an invitation"))
            return None
        self.negotiation_id = invite.negotiation_id
        parties = invite.parties
        problems = (
            (
                len(parties) < 2 or len(set(parties)) != len(parties),
                "the party list is too short or repeats a party",
            ),
            (parties[0] != sender, "the inviter must be the first party"),
            (self.public_key not in parties[1:], "this agent is not among the invited parties"),
            (invite.space_digest != self.space_digest, "the invitation is for another space"),
            (invite.norms_digest != self.norms_digest, "the invitation assumes other norms"),
            (0 < invite.deadline_ms <= now_ms, "the deadline has already passed"),
        )
        problem = self._invite_problem(invite) or next(
            (problem for broken, problem in problems if broken), ""
        )
        if problem:
            self._fail(WithdrawCode.DECLINED, problem, (sender,))
            return None
        return invite

    def _invite_problem(self, invite: Invite) -> str:
        """What the protocol itself cannot accept in ``invite`` ("" if nothing)."""
        raise NotImplementedError

    def _check_id(self, message: Message) -> None:
        if getattr(message, "negotiation_id", None) != self.negotiation_id:
            raise ProtocolViolation(f"{type(message).__name__} names another negotiation")

    def _sign_or_refuse(self, outcome_index: int, time_ms: int) -> bytes | None:
        """Commit point: the non-harm check runs again right before signing."""
        outcome = self.space.outcome_at(outcome_index)
        if not self.strategy.acceptable(outcome):
            return None
        return self._proposal_accord(outcome_index, time_ms).sign(self.identity)
