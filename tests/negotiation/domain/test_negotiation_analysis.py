"""Pareto frontier, Nash point and metrics: hand-computed cases and properties."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edge_dan.negotiation import DiscreteIssue, NegotiationError, OutcomeSpace
from edge_dan.negotiation.domain.analysis import (
    Analysis,
    nash_point,
    nash_products,
    pareto_frontier,
    utility_matrix,
)
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility

# Tiny hand-made domain: one issue "split" with four values.
#              A     B     C     D
# buyer:     1.0   0.7   0.4   0.3
# seller:    0.1   0.6   0.8   0.2     D is dominated by C (0.4 > 0.3, 0.8 > 0.2)
# Frontier: A, B, C.  Nash products (d = 0): 0.10, 0.42, 0.32, 0.06 -> B.
# With d = (0.5, 0): only A, B rational, products 0.05, 0.12 -> B; NP ratio of A = 0.05/0.12.


def tiny() -> tuple[OutcomeSpace, LinearAdditiveUtility, LinearAdditiveUtility]:
    space = OutcomeSpace([DiscreteIssue("split", ("A", "B", "C", "D"))])
    buyer = LinearAdditiveUtility(space, {"split": 1}, {"split": {"A": 10, "B": 7, "C": 4, "D": 3}})
    seller = LinearAdditiveUtility(space, {"split": 1}, {"split": {"A": 1, "B": 6, "C": 8, "D": 2}})
    return space, buyer, seller


def test_tiny_domain_hand_computed() -> None:
    space, buyer, seller = tiny()
    matrix = utility_matrix(space, [buyer, seller])
    assert np.allclose(matrix, [[1.0, 0.125], [0.7, 0.75], [0.4, 1.0], [0.3, 0.25]])
    # seller normalised by its max 8: A 0.125, B 0.75, C 1.0, D 0.25
    assert pareto_frontier(matrix).tolist() == [0, 1, 2]
    assert nash_point(matrix) == 1
    assert np.allclose(nash_products(matrix), [0.125, 0.525, 0.4, 0.075])
    analysis = Analysis(matrix)
    assert analysis.nash_index == 1
    assert analysis.nash_product == pytest.approx(0.525)
    assert analysis.np_ratio(1) == pytest.approx(1.0)
    assert analysis.np_ratio(2) == pytest.approx(0.4 / 0.525)
    assert analysis.pareto_distance(1) == 0.0
    # D = (0.3, 0.25): nearest frontier point is C = (0.4, 1.0)? no: B = (0.7, 0.75)
    dist_b = math.hypot(0.7 - 0.3, 0.75 - 0.25)
    dist_c = math.hypot(0.4 - 0.3, 1.0 - 0.25)
    assert analysis.pareto_distance(3) == pytest.approx(min(dist_b, dist_c))
    assert analysis.max_welfare == pytest.approx(1.45)
    assert analysis.welfare(1) == pytest.approx(1.0)
    assert analysis.welfare(0) == pytest.approx(1.125 / 1.45)
    assert analysis.min_utility(0) == pytest.approx(0.125)
    metrics = analysis.metrics(2)
    assert metrics.agreement and metrics.utilities == pytest.approx((0.4, 1.0))
    none = analysis.metrics(None)
    assert not none.agreement and none.np_ratio == 0.0


def test_tiny_domain_with_reservation() -> None:
    space, buyer, seller = tiny()
    analysis = Analysis.of(space, [buyer, seller], [0.5, 0.0])
    assert analysis.nash_index == 1  # A: 0.5*0.125, B: 0.2*0.75
    assert analysis.nash_product == pytest.approx(0.15)
    assert analysis.np_ratio(0) == pytest.approx(0.0625 / 0.15)
    assert analysis.np_ratio(2) == 0.0  # buyer below reservation
    # utility vectors work as well as indices
    assert analysis.np_ratio([0.7, 0.75]) == pytest.approx(1.0)


def test_no_rational_outcome_and_degenerate_nash() -> None:
    matrix = np.array([[0.2, 0.9], [0.9, 0.2]])
    assert nash_point(matrix, [0.5, 0.5]) is None
    assert Analysis(matrix, [0.5, 0.5]).np_ratio(0) == 0.0
    # FiftyFifty-like: only the split leaving both exactly at reservation is rational
    fifty = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    analysis = Analysis(fifty, [0.5, 0.5])
    assert analysis.nash_index == 1 and analysis.nash_product == 0.0
    assert analysis.np_ratio(1) == 1.0 and analysis.np_ratio(0) == 0.0


def test_duplicates_and_three_parties() -> None:
    matrix = np.array(
        [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [0.9, 0.1, 0.5], [0.4, 0.4, 0.4], [0.9, 0.1, 0.4]]
    )
    assert pareto_frontier(matrix).tolist() == [0, 1, 2]
    assert nash_point(matrix) == 0


def test_bad_inputs() -> None:
    with pytest.raises(NegotiationError):
        pareto_frontier(np.zeros((0, 2)))
    with pytest.raises(NegotiationError):
        nash_point(np.zeros(3))
    with pytest.raises(NegotiationError, match="reservation"):
        Analysis(np.zeros((3, 2)), [0.1])
    with pytest.raises(NegotiationError, match="non-finite"):
        Analysis(np.array([[math.nan, 1.0]]))


def brute_frontier(matrix: npt.NDArray[np.float64]) -> list[int]:
    keep = []
    for k, row in enumerate(matrix):
        dominated = any((other >= row).all() and (other > row).any() for other in matrix)
        if not dominated:
            keep.append(k)
    return keep


matrices = st.integers(1, 4).flatmap(
    lambda parties: hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 40), st.just(parties)),
        # coarse grid: many ties and duplicates, the hard cases for a frontier
        elements=st.integers(0, 8).map(lambda k: k / 8),
    )
)


@settings(max_examples=300, deadline=None)
@given(matrices, st.data())
def test_nash_point_is_pareto_optimal_and_np_ratio_one(
    matrix: npt.NDArray[np.float64],
    data: st.DataObject,
) -> None:
    parties = matrix.shape[1]
    reservations = data.draw(
        hnp.arrays(np.float64, parties, elements=st.integers(0, 4).map(lambda k: k / 8))
    )
    analysis = Analysis(matrix, reservations)
    assert analysis.frontier.tolist() == brute_frontier(matrix)
    nash = analysis.nash_index
    if nash is None:
        assert not (matrix >= reservations).all(axis=1).any()
        return
    assert (matrix[nash] >= reservations).all()
    assert analysis.np_ratio(nash) == pytest.approx(1.0)
    for k in range(matrix.shape[0]):
        assert analysis.np_ratio(k) <= 1.0 + 1e-12
    # Pareto-optimal, also in the degenerate case of a zero maximum product
    assert nash in set(analysis.frontier.tolist())
    assert analysis.pareto_distance(nash) == 0.0
