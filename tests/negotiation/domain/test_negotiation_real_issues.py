"""Real-valued ranges as grids of exact decimal labels, and evaluations used as given."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_dan.negotiation import DiscreteIssue, NegotiationError, OutcomeSpace
from edge_dan.negotiation.domain.outcomes import (
    MAX_GRID_POINTS,
    REAL_ISSUE_POINTS,
    number_label,
    real_issue,
)
from edge_dan.negotiation.domain.utility import Evaluator, LinearAdditiveUtility


def test_grid_by_points_and_by_step() -> None:
    issue = real_issue("price", Decimal("0"), Decimal("1"))
    assert isinstance(issue, DiscreteIssue)
    assert len(issue.values) == REAL_ISSUE_POINTS
    assert issue.values == ("0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1")
    stepped = real_issue("rate", Decimal("0.5"), Decimal("1.6"), step=Decimal("0.25"))
    assert stepped.values == ("0.5", "0.75", "1", "1.25", "1.5")  # 1.6 is not a step away
    assert real_issue("x", Decimal("2"), Decimal("2")).values == ("2",)
    assert real_issue("x", Decimal("0"), Decimal("1"), points=3).values == ("0", "0.5", "1")


def test_labels_are_canonical() -> None:
    assert number_label(Decimal("2.50")) == "2.5"
    assert number_label(2.5) == "2.5"
    assert number_label(10) == "10"
    assert number_label(Decimal("1E+1")) == "10"
    assert number_label(Decimal("-0.0")) == "0"
    assert number_label(0.1) == "0.1"  # the float's shortest repr, not its binary expansion


@pytest.mark.parametrize(
    ("low", "high", "step", "message"),
    [
        ("1", "0", None, "low > high"),
        ("0", "1", "0", "must be positive"),
        ("0", "1", "-1", "must be positive"),
        ("0", "1", "1e-9", f"more than {MAX_GRID_POINTS}"),
        ("0", "1e999999", "1", "too large"),
        ("0", "NaN", None, "not finite"),
        ("0", "1", None, "grid points is not 2"),
        ("0", "Infinity", None, "not finite"),
    ],
)
def test_bad_ranges_are_refused(low: str, high: str, step: str | None, message: str) -> None:
    points = 1 if message.startswith("grid points") else REAL_ISSUE_POINTS
    with pytest.raises(NegotiationError, match=message):
        real_issue(
            "x",
            Decimal(low),
            Decimal(high),
            step=None if step is None else Decimal(step),
            points=points,
        )


@given(
    low=st.decimals(min_value=-1000, max_value=1000, places=3),
    width=st.decimals(min_value=0, max_value=1000, places=3),
    points=st.integers(min_value=2, max_value=50),
)
def test_grids_are_ascending_unique_and_end_at_the_bounds(
    low: Decimal, width: Decimal, points: int
) -> None:
    issue = real_issue("x", low, low + width, points=points)
    numbers = [Decimal(v) for v in issue.values]
    assert numbers == sorted(set(numbers))
    assert numbers[0] == low and numbers[-1] == low + width
    assert all(number_label(n) == v for n, v in zip(numbers, issue.values, strict=True))


def test_as_given_evaluations_are_not_rescaled() -> None:
    space = OutcomeSpace(
        [DiscreteIssue("a", ("x", "y")), real_issue("b", Decimal("0"), Decimal("1"), points=2)]
    )
    evaluations: dict[str, Evaluator] = {"a": {"x": 4.0, "y": 2.0}, "b": {"0": 0.2, "1": 0.6}}
    utility = LinearAdditiveUtility(space, {"a": 1, "b": 1}, evaluations, as_given={"b"})
    assert utility(("x", "1")) == pytest.approx(0.5 * 1.0 + 0.5 * 0.6)  # b peaks at 0.6
    assert utility.best_outcome() == ("x", "1")
    scaled = LinearAdditiveUtility(space, {"a": 1, "b": 1}, evaluations)
    assert scaled(("x", "1")) == pytest.approx(1.0)
    with pytest.raises(NegotiationError, match="exceed 1"):
        LinearAdditiveUtility(space, {"a": 1, "b": 1}, evaluations, as_given={"a"})
    with pytest.raises(NegotiationError, match="unknown issues"):
        LinearAdditiveUtility(space, {"a": 1, "b": 1}, evaluations, as_given={"c"})
