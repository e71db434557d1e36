"""How many concession levels the mediator asks of every party, round by round.

The mediated protocol (:mod:`.mediated`) trades three things against each other: rounds (and so
messages), how close the outcome gets to the Nash point, and how much of each participant's
ranking the mediator sees. The schedule has three steps, each a number of levels:

- ``opening``: round 1 (asked by the ``Invite`` itself). The top levels of a profile hold few
  outcomes, so revealing several at once costs little privacy and saves early rounds where no
  overlap is possible yet.
- ``per_round``: every later round until a first outcome is common to all, the steady pace that
  spreads the levels over ``pace_rounds`` rounds.
- ``lookahead``: once, right after the first common outcome, the levels that might still hold a
  better one (the Nash point can lie deeper in some party's levels than where everyone first
  overlaps). Asked in one round rather than spread over several: the same levels are revealed
  either way, so one round saves messages at no cost in privacy.

``most_per_round`` goes into the ``Invite``: participants refuse a round that asks for more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edge_dan.negotiation.domain.errors import NegotiationError


@dataclass(frozen=True)
class PaceSchedule:
    """Levels asked in round 1, in each ordinary round, and in the one look-ahead round."""

    opening: int
    per_round: int
    lookahead: int

    @property
    def most_per_round(self) -> int:
        """The cap announced in the invitation."""
        return max(self.opening, self.per_round, self.lookahead, 1)

    @classmethod
    def plan(
        cls,
        levels: int,
        max_rounds: int,
        parties: int,
        *,
        pace_rounds: int = 20,
        lookahead: int | None = None,
        opening: int | None = None,
    ) -> PaceSchedule:
        """The default schedule for ``levels`` levels within ``max_rounds`` rounds.

        ``pace_rounds`` bounds how many rounds the steady pace spreads the levels over (a
        generous round limit should not stretch the negotiation for no gain). Larger groups
        open with more levels (their first common outcome lies deeper) and look further ahead
        (their Nash point lies further from where everyone first overlaps); each extra level
        reveals more of everyone's ranking, so two parties look only two levels ahead. The
        defaults were chosen on the vendored GENIUS domains (``bench/RESULTS.md``, "pace"): the
        smallest look-ahead that kept the mean NP ratio near 0.99, then the opening that cut
        rounds without revealing more.
        """
        if levels < 1 or max_rounds < 1:
            raise NegotiationError("a schedule needs at least one level and one round")
        per_round = max(1, math.ceil(levels / min(max_rounds, max(1, pace_rounds))))
        if lookahead is None:
            lookahead = 2 if parties == 2 else min(6, 3 + math.ceil(parties / 4))
        if opening is None:
            opening = per_round * (2 + parties // 4)
        return cls(
            opening=min(levels, max(1, opening)),
            per_round=min(levels, per_round),
            lookahead=min(levels, max(0, lookahead)),
        )
