"""The mediator side of the mediated concession protocol (see :mod:`.protocol`).

The mediator invites, opens the rounds, records every party's listing (and its own), keeps the
outcomes everyone listed, and proposes the one with the largest product of estimated gains; it
collects the signed answers and sends the signatures to all once every party has signed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from edge_dan.identity import Identity
from edge_dan.negotiation.accord import Accord, AccordError
from edge_dan.negotiation.errors import NegotiationError
from edge_dan.negotiation.protocol_core import (
    NO_NORMS,
    Agreed,
    ApprovalNeeded,
    Party,
    ProtocolViolation,
    State,
    new_negotiation_id,
)
from edge_dan.negotiation.strategy import IntArray, LittleDan, Mode
from edge_dan.wire.messages.negotiation import (
    MAX_LEVELS,
    MAX_PARTIES,
    Answer,
    Bids,
    Concluded,
    Invite,
    Join,
    Propose,
    Withdraw,
    WithdrawCode,
)
from edge_dan.wire.messages.schema import Message


class Mediator(Party):
    """The party that starts a negotiation and runs its rounds."""

    def __init__(
        self,
        identity: Identity,
        strategy: LittleDan,
        others: Sequence[bytes],
        *,
        negotiation_id: bytes,
        max_rounds: int = 20,
        deadline_ms: int = 0,
        levels: int = 40,
        norms_digest: bytes = NO_NORMS,
        lookahead_levels: int | None = None,
        pace_rounds: int = 20,
    ) -> None:
        super().__init__(identity, strategy, norms_digest)
        parties = (identity.public_key, *others)
        if not 2 <= len(parties) <= MAX_PARTIES or len(set(parties)) != len(parties):
            raise NegotiationError(
                f"a negotiation needs 2..{MAX_PARTIES} distinct parties, got {len(parties)}"
            )
        if not 1 <= levels <= MAX_LEVELS or max_rounds < 1:
            raise NegotiationError(
                f"levels must be 1..{MAX_LEVELS} and max_rounds at least 1 "
                f"(got {levels}, {max_rounds})"
            )
        if self.space.cardinality > 2**32:
            raise NegotiationError("outcome indices must fit 32 bits")
        self.negotiation_id = new_negotiation_id(negotiation_id)
        self.parties = parties
        self.max_rounds = max_rounds
        self.deadline_ms = deadline_ms
        self.levels = levels
        # Spread the levels over at most ``pace_rounds`` rounds: a generous round limit should
        # not stretch the negotiation (and its message count) for no gain.
        self.levels_per_round = max(1, math.ceil(levels / min(max_rounds, max(1, pace_rounds))))
        # Rounds to keep going once a first common outcome exists (see the protocol doc). Larger
        # groups need more: their Nash point lies further from where everyone first overlaps.
        # Each extra level reveals more of everyone's ranking, so two parties look less far.
        if lookahead_levels is None:
            lookahead_levels = 4 if len(parties) == 2 else 6
        self.lookahead = math.ceil(max(0, lookahead_levels) / self.levels_per_round)
        n = len(parties)
        self._joined: set[bytes] = set()
        self._count = np.zeros(self.space.cardinality, dtype=np.int16)
        self._log_gain = np.zeros(self.space.cardinality, dtype=np.float64)
        self._revealed = [0] * n
        self._cardinality = self.space.cardinality
        self._listed = [np.zeros(self._cardinality, dtype=bool) for _ in range(n)]
        self._bids_in: set[bytes] = set()
        self._new: list[int] = []
        self._candidates: set[int] = set()
        self._banned: set[int] = set()
        self._own_levels = strategy.concession_arrays(levels)
        self._proposal: tuple[int, int] | None = None  # outcome, time
        self._signatures: dict[bytes, bytes] = {}
        self._answers: dict[bytes, bool] = {}
        self._own_answer: bool | None = None

    def _notify_on_end(self) -> Sequence[bytes]:
        return self._others() if self.state is not State.IDLE else ()

    def start(self, now_ms: int) -> None:
        """Send the invitations."""
        if self.state is not State.IDLE:
            raise NegotiationError("this negotiation has already started")
        if self.deadline_ms and now_ms >= self.deadline_ms:
            raise NegotiationError("the deadline is already past")
        self.state = State.INVITING
        invite = Invite(
            self.negotiation_id,
            self.parties,
            self.space_digest,
            self.max_rounds,
            self.deadline_ms,
            self.levels,
            self.levels_per_round,
            self.norms_digest,
        )
        for peer in self._others():
            self._send(peer, invite)

    def _dispatch(self, sender: bytes, message: Message, now_ms: int) -> None:
        self._check_id(message)
        if isinstance(message, Withdraw):
            self._fail(
                WithdrawCode.PEER_WITHDREW,
                f"a party left (code {message.code})",
                [p for p in self._others() if p != sender],
            )
        elif isinstance(message, Join):
            if self.state is not State.INVITING or sender in self._joined:
                raise ProtocolViolation("a Join out of turn or repeated")
            self._joined.add(sender)
            if len(self._joined) == len(self.parties) - 1:
                self._open_round()
        elif isinstance(message, Bids):
            self._on_bids(sender, message)
            if len(self._bids_in) == len(self.parties) - 1:
                self._close_round(now_ms)
        elif isinstance(message, Answer):
            self._on_answer(sender, message)
        else:
            raise ProtocolViolation(f"the mediator does not expect {type(message).__name__}")

    def _record(
        self, position: int, first_level: int, levels: Sequence[Sequence[int] | IntArray]
    ) -> None:
        """Add one party's listing; ``log_gain`` accumulates its estimated gain per outcome."""
        listed = self._listed[position]
        for offset, items in enumerate(levels):
            if len(items) == 0:
                continue
            index = np.fromiter(items, dtype=np.int64, count=len(items))
            outside = (index < 0) | (index >= self._cardinality)
            if outside.any():
                bad = int(index[outside][0])
                raise ProtocolViolation(f"outcome {bad} is outside the outcome space")
            if listed[index].any() or np.unique(index).size != index.size:
                raise ProtocolViolation("an outcome was listed twice")
            listed[index] = True
            # Gain estimate: the level, refined by the rank inside it.
            ranks = np.arange(index.size, dtype=np.float64)
            gains = 1.0 - (first_level + offset + (ranks + 0.5) / index.size) / self.levels
            self._log_gain[index] += np.log(gains)
            self._count[index] += 1
            self._new.extend(index.tolist())

    def _on_bids(self, sender: bytes, message: Bids) -> None:
        if self.state is not State.BIDDING or message.round != self.round:
            raise ProtocolViolation(f"Bids for round {message.round} while at {self.round}")
        if sender in self._bids_in:
            raise ProtocolViolation("Bids repeated in one round")
        position = self.parties.index(sender)
        expected_first = self._revealed[position]
        expected_count = min(self.levels, expected_first + self.levels_per_round) - expected_first
        if message.first_level != expected_first or len(message.levels) != expected_count:
            raise ProtocolViolation(
                f"expected levels {expected_first}..{expected_first + expected_count - 1}"
            )
        self._record(position, message.first_level, message.levels)
        self._revealed[position] += expected_count
        self._bids_in.add(sender)

    def _open_round(self) -> None:
        if self.round >= self.max_rounds:
            self._fail(WithdrawCode.DEADLINE, "no agreement within the rounds", self._others())
            return
        if all(r >= self.levels for r in self._revealed) and not self._candidates - self._banned:
            self._fail(WithdrawCode.NO_AGREEMENT, "no outcome all accept", self._others())
            return
        self.round += 1
        self.state = State.BIDDING
        self._bids_in = set()
        own = self._revealed[0]
        end = min(self.levels, own + self.levels_per_round)
        self._record(0, own, self._own_levels[own:end])
        self._revealed[0] = end
        for peer in self._others():
            self._send(peer, Bids(self.negotiation_id, self.round, 0, ()))

    def _close_round(self, now_ms: int) -> None:
        everyone = len(self.parties)
        self._candidates.update(i for i in self._new if self._count[i] == everyone)
        self._new = []
        choices = self._candidates - self._banned
        more_to_see = self.round < self.max_rounds and any(r < self.levels for r in self._revealed)
        if not choices or (self.lookahead > 0 and more_to_see):
            # With a candidate in hand, a few more rounds may reveal a better one (the Nash point
            # can lie deeper in some party's levels than the first common outcome).
            if choices:
                self.lookahead -= 1
            self._open_round()
            return
        # Largest estimated Nash product; ties go to the lowest index (deterministic).
        best = max(choices, key=lambda i: (self._log_gain[i], -i))
        self._propose(best, now_ms)

    def _propose(self, outcome: int, now_ms: int) -> None:
        self.state = State.PROPOSING
        self._proposal = (outcome, now_ms)
        self._answers = {}
        self._signatures = {}
        self._own_answer = None
        for peer in self._others():
            self._send(peer, Propose(self.negotiation_id, self.round, outcome, now_ms))
        candidate = self.space.outcome_at(outcome)
        if self.strategy.mode is Mode.ASK and self.strategy.acceptable(candidate):
            self._events.append(ApprovalNeeded(candidate, self.strategy.profile(candidate)))
        else:
            self._decide_own(approve=True)

    def decide(self, approve: bool, now_ms: int) -> None:
        """The owner's yes or no to the pending proposal."""
        if self.state is not State.PROPOSING or self._own_answer is not None:
            raise NegotiationError("no proposal is waiting for the owner")
        if self._past_deadline(now_ms):
            self._fail(WithdrawCode.DEADLINE, "the deadline passed", self._others())
            return
        self._decide_own(approve=approve)

    def _decide_own(self, *, approve: bool) -> None:
        assert self._proposal is not None
        outcome, time_ms = self._proposal
        signature = self._sign_or_refuse(outcome, time_ms) if approve else None
        self._own_answer = signature is not None
        if signature is not None:
            self._signatures[self.public_key] = signature
        self._maybe_conclude()

    def _on_answer(self, sender: bytes, message: Answer) -> None:
        if self.state is not State.PROPOSING or message.round != self.round:
            raise ProtocolViolation("an Answer out of turn")
        if sender in self._answers:
            raise ProtocolViolation("an Answer repeated")
        assert self._proposal is not None
        if message.accept:
            if len(message.signature) != 64:
                raise ProtocolViolation("a yes must carry a 64-byte signature")
            accord = self._proposal_accord(*self._proposal)
            try:
                accord.with_signature(sender, message.signature)
            except AccordError as error:
                raise ProtocolViolation(str(error)) from None
            self._signatures[sender] = message.signature
        elif message.signature:
            raise ProtocolViolation("a no carries no signature")
        self._answers[sender] = message.accept
        self._maybe_conclude()

    def _maybe_conclude(self) -> None:
        if self._own_answer is None or len(self._answers) < len(self.parties) - 1:
            return
        assert self._proposal is not None
        outcome, time_ms = self._proposal
        if not (self._own_answer and all(self._answers.values())):
            self._banned.add(outcome)
            self._open_round()
            return
        signatures = tuple(self._signatures[p] for p in self.parties)
        accord = self._proposal_accord(outcome, time_ms)
        accord = Accord(
            accord.negotiation_id,
            accord.parties,
            accord.outcome,
            accord.time_ms,
            accord.space_digest,
            signatures,
        )
        accord.verify()
        for peer in self._others():
            self._send(peer, Concluded(self.negotiation_id, signatures))
        self.accord = accord
        self.state = State.AGREED
        self._events.append(Agreed(accord))
