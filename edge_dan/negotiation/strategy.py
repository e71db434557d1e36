"""The Little Dan strategy: protect the owner first, then aim the group at the Nash point.

Little Dan concedes in *levels* of its own normalised gain ``g = (u - floor) / (top - floor)``,
where ``floor`` is the larger of the reservation value and the owner's policy minimum and ``top``
the best acceptable utility. Level ``k`` of ``L`` holds the acceptable outcomes with
``1 - (k + 1) / L < g <= 1 - k / L`` (level 0 also holds ``g = 1``), best first. The protocol
makes every party reveal levels at the same pace, so the first outcome all parties accept is near
the point where each has conceded the same share of its own gain (the Kalai-Smorodinsky point),
and the mediator then picks, among the outcomes everyone accepts, the one with the largest
product of estimated gains: an estimate of the Nash bargaining point.

Non-harm is a hard constraint, checked twice: an outcome below the floor or across a red line
(the profile's, or a group norm's) is never listed, and :meth:`LittleDan.acceptable` is checked
again at the commit point, just before signing. Owner control: :attr:`Mode.AUTO` signs an
acceptable proposal at once; :attr:`Mode.ASK` asks the owner (an event in the protocol core) and
signs only on a yes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt

from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.domain.outcomes import Outcome, OutcomeSpace
from edge_dan.negotiation.domain.utility import FloatArray, Profile, RedLine

IntArray = npt.NDArray[np.int64]


class Mode(Enum):
    """How much the agent may do without its owner.

    ``AUTO`` signs any outcome the owner's values and limits accept; ``ASK`` signs nothing
    without the owner's yes (the agent's ``on_approval`` callback)::

        policy = Policy(mode=Mode.ASK)
    """

    AUTO = "auto"  # commit to any acceptable outcome the protocol settles on
    ASK = "ask"  # no signature without the owner's yes


@dataclass(frozen=True)
class Policy:
    """The owner's standing instructions.

    ``min_utility`` raises the floor above the reservation value (never lowers it);
    ``mode`` decides whether the owner is asked before each commitment; ``max_duration`` is the
    longest, in seconds, a negotiation this agent is invited to may run: an invitation without a
    deadline, or with a later one, ends by then for this agent (it withdraws, ``DEADLINE``).

    ::

        Policy(min_utility=0.5, mode=Mode.ASK)    # never below half; ask before committing
    """

    mode: Mode = Mode.AUTO
    min_utility: float = 0.0
    max_duration: float = 600.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.min_utility):
            raise NegotiationError("policy min_utility must be a finite number")
        if not (math.isfinite(self.max_duration) and self.max_duration > 0):
            raise NegotiationError("policy max_duration must be a positive number of seconds")


class LittleDan:
    """An owner's negotiator over one profile (see module doc).

    ``strategy_for`` (``edge_dan.agent.values``) builds one from the owner's values; by hand::

        tastes = {"dinner": {"pizza": 2, "curry": 1}}
        utility = LinearAdditiveUtility(space, {"dinner": 1.0}, tastes)
        LittleDan(Profile(space, utility, reservation_value=0.4), policy=Policy(mode=Mode.ASK))
    """

    def __init__(
        self,
        profile: Profile,
        *,
        policy: Policy | None = None,
        extra_red_lines: Sequence[RedLine] = (),
    ) -> None:
        self.profile = profile
        self.policy = policy or Policy()
        self.extra_red_lines = tuple(extra_red_lines)
        self.floor = max(float(profile.reservation_value), self.policy.min_utility)
        self._mask: np.ndarray | None = None

    @property
    def space(self) -> OutcomeSpace:
        """The outcome space of the profile."""
        return self.profile.space

    @property
    def mode(self) -> Mode:
        """The owner-control mode."""
        return self.policy.mode

    def acceptable(self, outcome: Outcome) -> bool:
        """Non-harm: valid, at or above the floor, no red line of the profile or a norm."""
        if not self.profile.acceptable(outcome):
            return False
        if any(line.crossed_by(outcome) for line in self.extra_red_lines):
            return False
        return self.profile(outcome) >= self.floor

    def acceptable_mask(self) -> np.ndarray:
        """``acceptable`` for every outcome, in enumeration order (computed once)."""
        if self._mask is None:
            mask = self.profile.acceptable_mask() & (self.profile.utilities() >= self.floor)
            if self.extra_red_lines:
                for position, outcome in enumerate(self.space.iter_outcomes()):
                    if mask[position] and any(
                        line.crossed_by(outcome) for line in self.extra_red_lines
                    ):
                        mask[position] = False
            self._mask = mask
        return self._mask

    def concession_levels(self, levels: int) -> list[list[int]]:
        """Outcome indices per concession level (``levels`` of them), best first in each."""
        return [level.tolist() for level in self.concession_arrays(levels)]

    def concession_arrays(self, levels: int) -> list[IntArray]:
        """:meth:`concession_levels` as compact arrays (what the protocol keeps in memory)."""
        if levels < 1:
            raise NegotiationError(f"levels must be at least 1, got {levels}")
        utilities: FloatArray = self.profile.utilities()
        acceptable = np.flatnonzero(self.acceptable_mask())
        if acceptable.size == 0:
            return [np.zeros(0, dtype=np.int64) for _ in range(levels)]
        values = utilities[acceptable]
        top = float(values.max())
        span = top - self.floor
        gains = (values - self.floor) / span if span > 0 else np.ones_like(values)
        # The small epsilon keeps outcomes exactly on a level boundary in the upper level.
        level_of = np.minimum(levels - 1, np.floor((1.0 - gains) * levels + 1e-9)).astype(int)
        # By level, then best utility first, then lowest index; then cut at level boundaries.
        order = np.lexsort((acceptable, -values, level_of))
        ordered, ordered_levels = acceptable[order], level_of[order]
        bounds = np.searchsorted(ordered_levels, np.arange(levels + 1))
        return [ordered[bounds[k] : bounds[k + 1]].astype(np.int64) for k in range(levels)]


class AlternatingOffers:
    """Little Dan's decisions in an alternating-offers exchange (sans-IO, no protocol state).

    Used by edge_dan's own alternating-offers protocol (:mod:`.protocols.ao`) and to talk to
    agents that only speak alternating offers (e.g. in cross-play benchmarks). The aspiration
    falls from the best acceptable utility to the floor on a Boulware curve,
    ``top - (top - floor) * t ** exponent`` for relative time ``t`` in ``[0, 1]``: little is
    given away early, so a hard-bargaining opponent gains nothing by waiting that it would not
    gain from Little Dan's deadline anyway. Among the outcomes at or above the aspiration it
    offers the one an opponent model (value frequencies in the opponents' offers) rates best,
    which moves offers along the Pareto frontier towards the others; among equally rated ones,
    the one closest to the aspiration. So the offers follow the aspiration down even when the
    model has nothing to say (a single issue, or a zero-sum one): an opponent that mirrors
    concessions (tit-for-tat) only concedes as much as it sees. It accepts an offer at or above
    its aspiration, and never one that :meth:`LittleDan.acceptable` refuses or the owner
    refused (:meth:`forbid`).
    """

    def __init__(self, dan: LittleDan, *, exponent: float = 5.0) -> None:
        if not exponent > 0:
            raise NegotiationError("the concession exponent must be positive")
        self.dan = dan
        self.exponent = exponent
        space = dan.space
        self._utilities: FloatArray = dan.profile.utilities()
        # A copy: :meth:`forbid` edits it, and LittleDan's mask is shared.
        self._acceptable = dan.acceptable_mask().copy()
        self._top = (
            float(self._utilities[self._acceptable].max()) if self._acceptable.any() else 0.0
        )
        # Per issue, the position of each outcome's value (mixed-radix digits, vectorised).
        radices = [issue.cardinality for issue in space.issues]
        positions = np.arange(space.cardinality)
        digits: list[np.ndarray] = []
        for radix in reversed(radices):
            positions, digit = np.divmod(positions, radix)
            digits.append(digit)
        self._digits = digits[::-1]
        self._counts = [np.zeros(radix, dtype=np.float64) for radix in radices]
        self._offered = np.zeros(space.cardinality, dtype=bool)

    def aspiration(self, time: float) -> float:
        """Target utility at relative time ``time`` (clipped to ``[0, 1]``)."""
        t = min(1.0, max(0.0, time))
        return float(self._top - (self._top - self.dan.floor) * t**self.exponent)

    def observe(self, offer: Outcome) -> None:
        """Learn from an opponent's offer (their repeated values are likely what they want)."""
        space = self.dan.space
        for counts, issue, value in zip(self._counts, space.issues, offer, strict=True):
            if issue.contains(value):
                counts[issue.position(value)] += 1

    def _opponent_estimate(self) -> FloatArray:
        total: FloatArray = np.zeros(self.dan.space.cardinality, dtype=np.float64)
        for counts, digits in zip(self._counts, self._digits, strict=True):
            top = counts.max()
            if top > 0:
                total += (counts / top)[digits]
        return total

    def propose(self, time: float) -> Outcome | None:
        """An outcome to offer now, or ``None`` if nothing is acceptable (walk away)."""
        if not self._acceptable.any():
            return None
        candidates = np.flatnonzero(
            self._acceptable & (self._utilities >= self.aspiration(time) - 1e-12)
        )
        if candidates.size == 0:  # rounding, or the owner refused the best ones: the best left
            best = self._utilities[self._acceptable].max()
            candidates = np.flatnonzero(self._acceptable & (self._utilities >= best))
        # A fresh offer where one is left: opponents that reciprocate new offers (MiCRO,
        # tit-for-tat) see movement even while the aspiration is still high.
        fresh = candidates[~self._offered[candidates]]
        if fresh.size:
            candidates = fresh
        # Ties in the opponent model go to the outcome nearest the aspiration: offers that
        # track it show the concession an opponent mirroring concessions waits for.
        score = self._opponent_estimate()[candidates] - 1e-6 * self._utilities[candidates]
        chosen = int(candidates[int(np.argmax(score))])
        self._offered[chosen] = True
        return self.dan.space.outcome_at(chosen)

    def respond(self, offer: Outcome, time: float) -> bool:
        """Whether to accept ``offer`` now (the non-harm check always applies)."""
        if not self.dan.acceptable(offer) or not self._acceptable[self.dan.space.index(offer)]:
            return False
        return self.dan.profile(offer) >= self.aspiration(time) - 1e-12

    def forbid(self, outcome: Outcome) -> None:
        """Never offer or accept ``outcome`` again (the owner said no to it)."""
        self._acceptable[self.dan.space.index(outcome)] = False
