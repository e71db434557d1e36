"""The mediator side of the mediated concession protocol (see :mod:`.mediated`).

The mediator invites, opens the rounds, records every party's listing (and its own), keeps the
outcomes everyone listed, and proposes the one with the largest product of estimated gains; it
collects the signed answers and sends the signatures to all once every party has signed.
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
    Party,
    ProtocolViolation,
    State,
    to_ms,
)
from edge_dan.negotiation.protocols.mediated.pace import PaceSchedule
from edge_dan.negotiation.strategy import IntArray, LittleDan, Mode
from edge_dan.wire.messages.negotiation import (
    MAX_LEVELS,
    MAX_PARTIES,
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
        deadline: float | None = None,
        levels: int = 40,
        norms_digest: bytes = NO_NORMS,
        lookahead_levels: int | None = None,
        pace_rounds: int = 20,
        opening_levels: int | None = None,
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
        self._take_terms(negotiation_id, parties, max_rounds, deadline)
        self.levels = levels
        self.schedule = PaceSchedule.plan(
            levels,
            max_rounds,
            len(parties),
            pace_rounds=pace_rounds,
            lookahead=lookahead_levels,
            opening=opening_levels,
        )
        self.levels_per_round = self.schedule.most_per_round
        self._looked_ahead = False
        n = len(parties)
        self._count = np.zeros(self.space.cardinality, dtype=np.int16)
        self._log_gain = np.zeros(self.space.cardinality, dtype=np.float64)
        self._revealed = [0] * n
        self._asked = 0  # levels the open round asks each party for
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

    def _notify_on_end(self) -> Sequence[bytes]:
        return self._others() if self.state is not State.IDLE else ()

    def start(self, now: float) -> None:
        """Send the invitations, which also open round 1."""
        self._check_startable(now)
        self._begin_round(self.schedule.opening)
        invite = Invite(
            self.negotiation_id,
            self.parties,
            self.space_digest,
            self.max_rounds,
            self.deadline_ms,
            self.levels,
            self.levels_per_round,
            self.norms_digest,
            NegotiationProtocol.MEDIATED,
            self._asked,
        )
        self._send_to_others(invite)

    def _dispatch(self, sender: bytes, message: Message, now_ms: int) -> None:
        self._check_id(message)
        if isinstance(message, Withdraw):
            self._fail(
                WithdrawCode.PEER_WITHDREW,
                f"a party left (code {message.code})",
                [p for p in self._others() if p != sender],
            )
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
        expected_count = min(self.levels, expected_first + self._asked) - expected_first
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
        if self._candidates - self._banned and not self._looked_ahead:
            # A first common outcome exists: look deeper once, in one round, since the Nash point
            # can lie further down some party's levels than where everyone first overlaps.
            self._looked_ahead = True
            self._begin_round(self.schedule.lookahead)
        else:
            self._begin_round(self.schedule.per_round)
        self._send_to_others(OpenRound(self.negotiation_id, self.round, self._asked))

    def _begin_round(self, levels: int) -> None:
        """Start the next round, asking ``levels`` levels of everyone; list the mediator's own."""
        self.round += 1
        self.state = State.BIDDING
        self._bids_in = set()
        self._asked = max(1, min(levels, self.levels_per_round))
        own = self._revealed[0]
        end = min(self.levels, own + self._asked)
        self._record(0, own, self._own_levels[own:end])
        self._revealed[0] = end

    def _close_round(self, now_ms: int) -> None:
        everyone = len(self.parties)
        self._candidates.update(i for i in self._new if self._count[i] == everyone)
        self._new = []
        choices = self._candidates - self._banned
        more_to_see = self.round < self.max_rounds and any(r < self.levels for r in self._revealed)
        if not choices or (not self._looked_ahead and self.schedule.lookahead and more_to_see):
            self._open_round()
            return
        # Largest estimated Nash product; ties go to the lowest index (deterministic).
        best = max(choices, key=lambda i: (self._log_gain[i], -i))
        self._proposal = (best, now_ms)
        self.state = State.PROPOSING
        candidate = self.space.outcome_at(best)
        if self.strategy.mode is Mode.ASK and self.strategy.acceptable(candidate):
            # The mediator proposes only what its owner said yes to (it signs in Concluded).
            self._events.append(ApprovalNeeded(candidate, self.strategy.profile(candidate)))
        else:
            self._decide_own(approve=True)

    def decide(self, approve: bool, now: float) -> None:
        """The owner's yes or no to the outcome the mediator is about to propose."""
        if self.state is not State.PROPOSING or self._proposal is None or self._signatures:
            raise NegotiationError("no proposal is waiting for the owner")
        if self._past_deadline(to_ms(now)):
            self._fail(WithdrawCode.DEADLINE, "the deadline passed", self._others())
            return
        self._decide_own(approve=approve)

    def _decide_own(self, *, approve: bool) -> None:
        """Sign (kept until all agree) and propose, or (a no, or the commit check fails) bid on."""
        assert self._proposal is not None
        outcome, time_ms = self._proposal
        signature = self._sign_or_refuse(outcome, time_ms) if approve else None
        if signature is None:
            self._banned.add(outcome)
            self._proposal = None
            self._open_round()
            return
        self._answers = {}
        self._signatures = {self.public_key: signature}
        self._send_to_others(Propose(self.negotiation_id, self.round, outcome, time_ms))

    def _on_answer(self, sender: bytes, message: Answer) -> None:
        if self.state is not State.PROPOSING or not self._signatures or message.round != self.round:
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
        if len(self._answers) < len(self.parties) - 1:
            return
        assert self._proposal is not None
        outcome, time_ms = self._proposal
        if not all(self._answers.values()):
            self._banned.add(outcome)
            self._proposal = None
            self._signatures = {}
            self._open_round()
            return
        signatures = tuple(self._signatures[p] for p in self.parties)
        accord = self._concluded_accord(outcome, time_ms, signatures)
        accord.verify()
        self._send_to_others(Concluded(self.negotiation_id, signatures))
        self.accord = accord
        self.state = State.AGREED
        self._events.append(Agreed(accord))
