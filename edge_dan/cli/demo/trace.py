"""What the mediating agent saw of a negotiation, turned into rounds a person can follow.

The mediated protocol runs in rounds: the mediator asks every party for its next few *levels*
(the outcomes it would accept, best first, a slice of its own ranking at a time), keeps those
everyone has listed, and proposes the one that looks best for all; each party signs it or says
no. ``Agent.negotiate(observe=...)`` hands the demo every message as it passes (``Move``); the
mediator's own listing never crosses the wire, so it is taken from its strategy, in the same
slices. The demo runs every agent, so it can say how good each listing is for its owner: the
agents themselves never learn that of each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge_dan.agent import Move
from edge_dan.negotiation.strategy import LittleDan
from edge_dan.wire.messages.negotiation import (
    Answer,
    Bids,
    Concluded,
    Invite,
    OpenRound,
    Propose,
    Withdraw,
)


@dataclass
class PartyInRound:
    """One party at the end of a round: what it has listed so far, and how far it came down."""

    listed: int = 0  # outcomes it has said it would accept, so far
    least: float | None = None  # its owner's utility of the least good of them (None: none yet)


@dataclass
class Round:
    number: int
    asked: int  # levels the mediator asked of everyone this round
    parties: list[PartyInRound]
    common: int = 0  # outcomes every party has listed by the end of the round
    proposal: int | None = None  # outcome index the mediator proposed, if it did
    answers: dict[int, bool] = field(default_factory=dict)  # party position -> signed (yes)?


class Tracer:
    """Collects ``Move``s (pass ``tracer.observe`` to ``Agent.negotiate``) into ``Round``s.

    ``parties`` are the identity keys, mediator first; ``strategies`` their negotiators (the
    demo holds them all); ``levels`` the concession levels the mediator uses (from the Invite).
    """

    def __init__(self, parties: Sequence[bytes], strategies: Sequence[LittleDan]) -> None:
        self.parties = tuple(parties)
        self.strategies = tuple(strategies)
        self.utilities = [s.profile.utilities() for s in strategies]
        cardinality = strategies[0].space.cardinality
        self._listed: list[npt.NDArray[np.bool_]] = [
            np.zeros(cardinality, dtype=bool) for _ in parties
        ]
        self._own_levels: list[npt.NDArray[np.int64]] = []
        self._own_revealed = 0
        self.rounds: list[Round] = []
        self.concluded = False
        self.withdrawn: int | None = None  # the Withdraw code, if the mediator sent one

    def observe(self, move: Move) -> None:
        message = move.message
        if move.direction == "sent":
            if isinstance(message, Invite) and not self.rounds:
                self._own_levels = self.strategies[0].concession_arrays(message.levels)
                self._open(1, message.opening_levels)
            elif isinstance(message, OpenRound) and message.round > len(self.rounds):
                self._open(message.round, message.levels)
            elif isinstance(message, Propose) and self.rounds:
                self.rounds[-1].proposal = message.outcome
                self.rounds[-1].answers = {0: True}  # the mediator signs what it proposes
            elif isinstance(message, Concluded):
                self.concluded = True
            elif isinstance(message, Withdraw):
                self.withdrawn = message.code
            return
        if move.peer not in self.parties or not self.rounds:
            return
        position = self.parties.index(move.peer)
        if isinstance(message, Bids):
            for level in message.levels:
                self._list(position, list(level))
            self._close_listing()
        elif isinstance(message, Answer):
            self.rounds[-1].answers[position] = bool(message.accept)

    def _open(self, number: int, asked: int) -> None:
        self.rounds.append(Round(number, asked, [PartyInRound() for _ in self.parties]))
        end = min(len(self._own_levels), self._own_revealed + asked)
        for level in self._own_levels[self._own_revealed : end]:
            self._list(0, level.tolist())
        self._own_revealed = end
        self._close_listing()

    def _list(self, position: int, outcomes: list[int]) -> None:
        if outcomes:
            self._listed[position][np.asarray(outcomes, dtype=np.int64)] = True

    def _close_listing(self) -> None:
        current = self.rounds[-1]
        for position, listed in enumerate(self._listed):
            values = self.utilities[position][listed]
            current.parties[position] = PartyInRound(
                int(listed.sum()), float(values.min()) if values.size else None
            )
        current.common = int(np.logical_and.reduce(self._listed).sum())
