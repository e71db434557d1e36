"""The participant side of the mediated concession protocol (see :mod:`.mediated`).

A participant answers one mediator: it joins if the invitation matches its outcome space and
norms, reveals its concession levels at the agreed pace, checks that any proposal is an outcome
it listed, runs the non-harm check again before signing, and verifies the concluded accord.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edge_dan.identity import Identity
from edge_dan.negotiation.accords.accord import AccordError
from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.protocols.core import (
    NO_NORMS,
    Agreed,
    ApprovalNeeded,
    Ignored,
    Party,
    ProtocolViolation,
    State,
    to_ms,
)
from edge_dan.negotiation.strategy import IntArray, LittleDan, Mode
from edge_dan.wire.core import Incoming
from edge_dan.wire.messages.negotiation import (
    MAX_LEVELS,
    MAX_LISTED_PER_MESSAGE,
    Answer,
    Bids,
    Concluded,
    Invite,
    NegotiationProtocol,
    OpenRound,
    Propose,
    Withdraw,
    WithdrawCode,
)
from edge_dan.wire.messages.schema import Message


class Participant(Party):
    """A party invited by a mediator."""

    def __init__(
        self, identity: Identity, strategy: LittleDan, *, norms_digest: bytes = NO_NORMS
    ) -> None:
        super().__init__(identity, strategy, norms_digest)
        self.mediator = b""
        self._levels: list[IntArray] = []
        self._revealed = 0
        self._listed = np.zeros(0, dtype=bool)  # per outcome: listed by this party yet?
        self._proposal: tuple[int, int, int] | None = None  # round, outcome, time

    def _notify_on_end(self) -> Sequence[bytes]:
        return (self.mediator,) if self.mediator else ()

    def receive(self, item: Incoming, now: float) -> None:
        """Handle a message a peer sent (the first must be an ``Invite``)."""
        if self.state is State.IDLE:
            self._accept_invite(item.sender, item.message, to_ms(now))
            return
        if item.sender != self.mediator and not self.state.terminal:
            self._events.append(Ignored(item.sender, "only the mediator talks to a participant"))
            return
        super().receive(item, now)

    def _accept_invite(self, sender: bytes, message: Message, now_ms: int) -> None:
        self.mediator = sender
        invite = self._open_invitation(sender, message, now_ms)
        if invite is None:
            return
        self.parties = invite.parties
        self.max_rounds = invite.max_rounds
        self.deadline_ms = self._local_deadline(invite.deadline_ms, now_ms)
        self.levels = invite.levels
        self.levels_per_round = invite.levels_per_round
        self._levels = self.strategy.concession_arrays(self.levels)
        self._listed = np.zeros(self.space.cardinality, dtype=bool)
        self._reveal(1, invite.opening_levels)  # the invitation opens round 1

    def _invite_problem(self, invite: Invite) -> str:
        problems = (
            (
                invite.protocol != NegotiationProtocol.MEDIATED,
                "the invitation is for another protocol",
            ),
            (
                not 1 <= invite.levels <= MAX_LEVELS
                or not 1 <= invite.opening_levels <= invite.levels_per_round,
                "the concession levels are out of range",
            ),
            (invite.max_rounds < 1, "max_rounds must be at least 1"),
        )
        return next((problem for broken, problem in problems if broken), "")

    def _dispatch(self, sender: bytes, message: Message, now_ms: int) -> None:
        self._check_id(message)
        if isinstance(message, Withdraw):
            try:
                code = WithdrawCode(message.code)
            except ValueError:
                code = WithdrawCode.PEER_WITHDREW
            self._fail(code, f"the mediator ended the negotiation ({code.name})", ())
        elif isinstance(message, OpenRound):
            self._on_round(message)
        elif isinstance(message, Propose):
            self._on_propose(message)
        elif isinstance(message, Concluded):
            self._on_concluded(message)
        else:
            raise ProtocolViolation(f"a participant does not expect {type(message).__name__}")

    def _on_round(self, message: OpenRound) -> None:
        if self.state not in (State.BIDDING, State.ANSWERED):
            raise ProtocolViolation(f"a new round while {self.state.value}")
        if message.round != self.round + 1 or message.round > self.max_rounds:
            raise ProtocolViolation(f"round {message.round} out of order (at {self.round})")
        if not 1 <= message.levels <= self.levels_per_round:
            raise ProtocolViolation(
                f"the round asks for {message.levels} levels; the invitation allows "
                f"1..{self.levels_per_round}"
            )
        self._reveal(message.round, message.levels)

    def _reveal(self, round_: int, count: int) -> None:
        """Send the next ``count`` levels as this round's ``Bids``."""
        self.round = round_
        self.state = State.BIDDING
        self._proposal = None
        end = min(self.levels, self._revealed + count)
        chosen: list[tuple[int, ...]] = []
        budget = MAX_LISTED_PER_MESSAGE
        for level in range(self._revealed, end):
            # Whatever does not fit this message waits in the next level: a later, safer listing.
            items = self._levels[level][:budget]
            rest = self._levels[level][items.size :]
            if rest.size and level + 1 < self.levels:
                self._levels[level + 1] = np.concatenate([rest, self._levels[level + 1]])
            budget -= items.size
            chosen.append(tuple(items.tolist()))
            self._listed[items] = True
        first = self._revealed
        self._revealed = end
        self._send(self.mediator, Bids(self.negotiation_id, self.round, first, tuple(chosen)))

    def _on_propose(self, message: Propose) -> None:
        if self.state is not State.BIDDING or message.round != self.round:
            raise ProtocolViolation("a proposal out of turn")
        if message.outcome >= self._listed.size or not self._listed[message.outcome]:
            raise ProtocolViolation("the mediator proposed an outcome this party never listed")
        self._proposal = (message.round, message.outcome, message.time_ms)
        outcome = self.space.outcome_at(message.outcome)
        if self.strategy.mode is Mode.ASK and self.strategy.acceptable(outcome):
            self.state = State.DECIDING
            self._events.append(ApprovalNeeded(outcome, self.strategy.profile(outcome)))
            return
        self._answer(approve=True)

    def decide(self, approve: bool, now: float) -> None:
        """The owner's yes or no to the outcome of the pending :class:`ApprovalNeeded`."""
        if self.state is not State.DECIDING:
            raise NegotiationError("no proposal is waiting for the owner")
        if self._past_deadline(to_ms(now)):
            self._fail(WithdrawCode.DEADLINE, "the deadline passed", self._notify_on_end())
            return
        self._answer(approve=approve)

    def _answer(self, *, approve: bool) -> None:
        assert self._proposal is not None
        round_, outcome, time_ms = self._proposal
        signature = self._sign_or_refuse(outcome, time_ms) if approve else None
        self.state = State.ANSWERED
        self._send(
            self.mediator,
            Answer(self.negotiation_id, round_, signature is not None, signature or b""),
        )
        if signature is None:
            self._proposal = None

    def _on_concluded(self, message: Concluded) -> None:
        if self.state is not State.ANSWERED or self._proposal is None:
            raise ProtocolViolation("a conclusion without an accepted proposal")
        if len(message.signatures) != len(self.parties):
            raise ProtocolViolation("the conclusion does not hold one signature per party")
        self._conclude(tuple(message.signatures))

    def _conclude(self, signatures: tuple[bytes, ...]) -> None:
        assert self._proposal is not None
        _, outcome, time_ms = self._proposal
        accord = self._concluded_accord(outcome, time_ms, signatures)
        try:
            accord.verify()
        except AccordError as error:
            raise ProtocolViolation(f"the concluded accord does not verify: {error}") from None
        self.accord = accord
        self.state = State.AGREED
        self._events.append(Agreed(accord))
