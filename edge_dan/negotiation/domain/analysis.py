"""Pareto frontier, Nash bargaining point and outcome metrics for n parties (vectorised).

All functions take a utility matrix ``U`` of shape ``(outcomes, parties)`` — row ``k`` holds every
party's utility for outcome ``k`` of an enumerated space — and, where relevant, the disagreement
vector ``d`` (each party's reservation value).

Definitions used here:

- **Pareto frontier**: outcomes whose utility vector no other outcome weakly improves for every
  party and strictly for one. Outcomes with equal vectors are all kept.
- **Nash point**: among outcomes with ``U[k] >= d`` for every party, one maximising the Nash
  product ``prod_i (U[k, i] - d_i)``; ties go to the largest utility sum, then the lowest index,
  so the Nash point is always Pareto-optimal. ``None`` if no outcome is
  individually rational.
- **NP ratio** of an outcome: its Nash product (0 if any party is below its ``d_i``) over the Nash
  product at the Nash point. If that maximum is 0 (degenerate: every rational outcome leaves some
  party exactly at its reservation), the ratio is 1 for rational outcomes and 0 otherwise.
  No agreement scores 0.
- **Pareto distance**: Euclidean distance in utility space from the outcome's utility vector to
  the nearest frontier point (0 on the frontier); no agreement is measured from ``d``.
- **Welfare**: sum of utilities over the largest sum any outcome reaches (1 if that is 0);
  no agreement counts as ``d``.
- **Minimum utility**: the smallest utility among the parties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.domain.outcomes import OutcomeSpace
from edge_dan.negotiation.domain.utility import FloatArray, UtilityFunction, utilities_of

IntArray = npt.NDArray[np.intp]


def utility_matrix(space: OutcomeSpace, utilities: Sequence[UtilityFunction]) -> FloatArray:
    """``U[k, i]`` = utility of party ``i`` for outcome ``k`` (enumeration order)."""
    if not utilities:
        raise NegotiationError("at least one party is needed")
    return np.stack([utilities_of(space, u) for u in utilities], axis=1)


def _matrix(utilities: npt.ArrayLike) -> FloatArray:
    matrix = np.asarray(utilities, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise NegotiationError(f"utility matrix must be (outcomes, parties), got {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise NegotiationError("utility matrix holds non-finite values")
    return matrix


def _disagreement(matrix: FloatArray, reservations: npt.ArrayLike | None) -> FloatArray:
    if reservations is None:
        return np.zeros(matrix.shape[1], dtype=np.float64)
    d = np.asarray(reservations, dtype=np.float64).reshape(-1)
    if d.shape[0] != matrix.shape[1]:
        raise NegotiationError(f"{d.shape[0]} reservation values for {matrix.shape[1]} parties")
    return d


def pareto_frontier(utilities: npt.ArrayLike) -> IntArray:
    """Indices (ascending) of the Pareto-optimal outcomes."""
    matrix = _matrix(utilities)
    # Visit candidates by decreasing utility sum: nothing later can dominate an earlier one
    # strictly in sum, so each visited survivor is optimal and removes what it dominates.
    order = np.argsort(-matrix.sum(axis=1), kind="stable")
    candidates = order
    frontier: list[IntArray] = []
    while candidates.size:
        head = candidates[0]
        rows = matrix[candidates]
        top = matrix[head]
        dominated = (rows <= top).all(axis=1) & (rows < top).any(axis=1)
        equal = (rows == top).all(axis=1)
        if ((rows >= top).all(axis=1) & (rows > top).any(axis=1)).any():
            # Only possible through rounding ties in the sums: drop the dominated head.
            candidates = candidates[1:]
            continue
        frontier.append(candidates[equal])
        candidates = candidates[~dominated & ~equal]
    return np.sort(np.concatenate(frontier)).astype(np.intp)


def nash_products(
    utilities: npt.ArrayLike, reservations: npt.ArrayLike | None = None
) -> FloatArray:
    """Nash product of every outcome (0 where some party is below its reservation value)."""
    matrix = _matrix(utilities)
    gains = matrix - _disagreement(matrix, reservations)
    rational = (gains >= 0).all(axis=1)
    return np.where(rational, np.prod(np.clip(gains, 0.0, None), axis=1), 0.0)


def nash_point(utilities: npt.ArrayLike, reservations: npt.ArrayLike | None = None) -> int | None:
    """Index of the Nash bargaining outcome, or ``None`` if no outcome is individually rational."""
    matrix = _matrix(utilities)
    d = _disagreement(matrix, reservations)
    rational = (matrix >= d).all(axis=1)
    if not rational.any():
        return None
    products = np.where(rational, np.prod(np.clip(matrix - d, 0.0, None), axis=1), -1.0)
    tied = np.flatnonzero(products == products.max())
    # Among equal products prefer the largest utility sum: that one is Pareto-optimal even when
    # the maximum product is 0 (a dominating outcome would have an equal product, larger sum).
    sums = matrix[tied].sum(axis=1)
    best = tied[sums == sums.max()]
    rows = matrix[best]
    for candidate in best:  # guard against rounding ties in the sums
        top = matrix[candidate]
        if not ((rows >= top).all(axis=1) & (rows > top).any(axis=1)).any():
            return int(candidate)
    return int(best[0])  # pragma: no cover - a finite set always has an undominated member


@dataclass(frozen=True)
class OutcomeMetrics:
    """The metrics of one negotiation result (see module doc for definitions)."""

    agreement: bool
    utilities: tuple[float, ...]
    np_ratio: float
    pareto_distance: float
    welfare: float
    min_utility: float


class Analysis:
    """Precomputed frontier, Nash point and welfare bound of one n-party scenario."""

    def __init__(self, utilities: npt.ArrayLike, reservations: npt.ArrayLike | None = None) -> None:
        self.utilities: FloatArray = _matrix(utilities)
        self.reservations: FloatArray = _disagreement(self.utilities, reservations)
        self.frontier: IntArray = pareto_frontier(self.utilities)
        self.nash_index: int | None = nash_point(self.utilities, self.reservations)
        self.nash_product: float = (
            0.0
            if self.nash_index is None
            else float(np.prod(self.utilities[self.nash_index] - self.reservations))
        )
        self.max_welfare: float = float(self.utilities.sum(axis=1).max())

    @classmethod
    def of(
        cls,
        space: OutcomeSpace,
        utilities: Sequence[UtilityFunction],
        reservations: Sequence[float] | None = None,
    ) -> Analysis:
        """Analyse ``space`` for parties with the given utility functions."""
        return cls(utility_matrix(space, utilities), reservations)

    @property
    def frontier_utilities(self) -> FloatArray:
        """Utility vectors of the frontier outcomes."""
        return self.utilities[self.frontier]

    def _vector(self, outcome: int | npt.ArrayLike | None) -> FloatArray:
        if outcome is None:
            return self.reservations.copy()
        if isinstance(outcome, int | np.integer):
            row: FloatArray = self.utilities[int(outcome)]
            return row
        vector = np.asarray(outcome, dtype=np.float64).reshape(-1)
        if vector.shape[0] != self.utilities.shape[1]:
            raise NegotiationError(
                f"utility vector has {vector.shape[0]} entries "
                f"for {self.utilities.shape[1]} parties"
            )
        return vector

    def np_ratio(self, outcome: int | npt.ArrayLike | None) -> float:
        """Nash product of ``outcome`` (an index or a utility vector) over the Nash point's."""
        if outcome is None or self.nash_index is None:
            return 0.0
        gains = self._vector(outcome) - self.reservations
        if (gains < 0).any():
            return 0.0
        if self.nash_product <= 0:
            return 1.0
        return float(np.prod(gains) / self.nash_product)

    def pareto_distance(self, outcome: int | npt.ArrayLike | None) -> float:
        """Euclidean distance from the outcome's utility vector to the nearest frontier point."""
        deltas = self.frontier_utilities - self._vector(outcome)
        return float(np.sqrt((deltas * deltas).sum(axis=1)).min())

    def welfare(self, outcome: int | npt.ArrayLike | None) -> float:
        """Sum of utilities over the largest achievable sum."""
        total = float(self._vector(outcome).sum())
        return total / self.max_welfare if self.max_welfare > 0 else 1.0

    def min_utility(self, outcome: int | npt.ArrayLike | None) -> float:
        """Smallest utility among the parties."""
        return float(self._vector(outcome).min())

    def metrics(self, outcome: int | npt.ArrayLike | None) -> OutcomeMetrics:
        """All metrics of ``outcome`` (index, utility vector, or ``None`` for no agreement)."""
        vector = self._vector(outcome)
        return OutcomeMetrics(
            agreement=outcome is not None,
            utilities=tuple(float(x) for x in vector),
            np_ratio=self.np_ratio(outcome),
            pareto_distance=self.pareto_distance(outcome),
            welfare=self.welfare(outcome),
            min_utility=self.min_utility(outcome),
        )
