"""Outcome spaces, utility functions, reservation values and red lines."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_dan.errors import EdgeDanError
from edge_dan.negotiation import (
    DiscreteIssue,
    IntegerIssue,
    InvalidOutcome,
    NegotiationError,
    OutcomeSpace,
    OutcomeSpaceTooLarge,
    TextIssue,
)
from edge_dan.negotiation.domain.utility import (
    CallableUtility,
    LinearAdditiveUtility,
    Profile,
    RedLine,
    TextScorer,
    utilities_of,
)


def laptop_space() -> OutcomeSpace:
    return OutcomeSpace(
        [
            DiscreteIssue("brand", ("Dell", "Mac", "HP")),
            IntegerIssue("disk", 1, 4),
            TextIssue("note", ("fast delivery please", "gift wrap")),
        ],
        name="laptop",
    )


def test_errors_are_edge_dan_errors() -> None:
    assert issubclass(NegotiationError, EdgeDanError)
    assert issubclass(OutcomeSpaceTooLarge, NegotiationError)
    assert issubclass(InvalidOutcome, NegotiationError)


def test_enumeration_order_index_and_lookup() -> None:
    space = laptop_space()
    outcomes = space.enumerate()
    assert space.cardinality == len(space) == 3 * 4 * 2 == len(outcomes)
    assert outcomes[0] == ("Dell", 1, "fast delivery please")
    assert outcomes[1] == ("Dell", 1, "gift wrap")  # the last issue varies fastest
    assert len(set(outcomes)) == len(outcomes)
    for position, outcome in enumerate(outcomes):
        assert space.index(outcome) == position
        assert space.outcome_at(position) == outcome
        assert outcome in space
    assert space.as_dict(outcomes[5]) == {"brand": "Dell", "disk": 3, "note": "gift wrap"}
    assert space.from_dict({"note": "gift wrap", "disk": 3, "brand": "Dell"}) == outcomes[5]


@pytest.mark.parametrize(
    "bad",
    [
        ("Dell", 1),  # too short
        ("Dell", 1, "gift wrap", "x"),  # too long
        ("Lenovo", 1, "gift wrap"),  # unknown value
        ("Dell", 0, "gift wrap"),  # out of range
        ("Dell", True, "gift wrap"),  # bool is not an integer value
        ("Dell", "1", "gift wrap"),  # string is not an integer value
        ["Dell", 1, "gift wrap"],  # not a tuple
    ],
)
def test_invalid_outcomes_are_refused(bad: object) -> None:
    space = laptop_space()
    assert not space.is_valid(bad)
    with pytest.raises(InvalidOutcome):
        space.validate(bad)


def test_lookup_errors() -> None:
    space = laptop_space()
    with pytest.raises(InvalidOutcome):
        space.outcome_at(24)
    with pytest.raises(InvalidOutcome):
        space.from_dict({"brand": "Dell", "disk": 1})
    with pytest.raises(InvalidOutcome):
        space.from_dict({"brand": "Dell", "disk": 1, "note": "gift wrap", "colour": "red"})
    with pytest.raises(NegotiationError, match="no issue called"):
        space.issue("colour")


def test_bad_issues_and_spaces() -> None:
    with pytest.raises(NegotiationError, match="no values"):
        DiscreteIssue("x", ())
    with pytest.raises(NegotiationError, match="twice"):
        DiscreteIssue("x", ("a", "a"))
    with pytest.raises(NegotiationError, match="empty range"):
        IntegerIssue("x", 3, 2)
    with pytest.raises(NegotiationError, match="twice"):
        OutcomeSpace([DiscreteIssue("x", ("a",)), IntegerIssue("x", 1, 2)])
    with pytest.raises(NegotiationError, match="at least one issue"):
        OutcomeSpace([])


def test_enumeration_is_bounded() -> None:
    huge = OutcomeSpace([IntegerIssue(f"i{k}", 0, 999) for k in range(4)])
    assert huge.cardinality == 10**12  # counting is fine
    with pytest.raises(OutcomeSpaceTooLarge, match="max_cardinality"):
        huge.enumerate()
    small = OutcomeSpace([IntegerIssue("a", 0, 9), IntegerIssue("b", 0, 9)], max_cardinality=99)
    with pytest.raises(OutcomeSpaceTooLarge, match="100 outcomes"):
        small.enumerate()
    # index/outcome_at work without enumerating
    assert huge.outcome_at(huge.index((1, 2, 3, 4))) == (1, 2, 3, 4)


@given(
    st.lists(st.integers(1, 5), min_size=1, max_size=4),
    st.data(),
)
def test_index_roundtrip_property(radices: list[int], data: st.DataObject) -> None:
    space = OutcomeSpace(
        [DiscreteIssue(f"i{k}", tuple(f"v{j}" for j in range(r))) for k, r in enumerate(radices)]
    )
    position = data.draw(st.integers(0, space.cardinality - 1))
    assert space.index(space.outcome_at(position)) == position
    assert space.enumerate()[position] == space.outcome_at(position)


def test_linear_additive_normalises_weights_and_evaluations() -> None:
    space = laptop_space()
    scorer: TextScorer = lambda option: 2.0 if "fast" in option else 1.0  # noqa: E731
    u = LinearAdditiveUtility(
        space,
        weights={"brand": 2, "disk": 1, "note": 1},
        evaluations={
            "brand": {"Dell": 10, "Mac": 40, "HP": 20},
            "disk": float,
            "note": scorer,  # a value-model hook plugs in as an evaluator
        },
    )
    assert math.isclose(float(u.weights.sum()), 1.0)
    assert u.weight("brand") == pytest.approx(0.5)
    assert u.evaluation("brand", "Mac") == 1.0
    assert u.evaluation("brand", "Dell") == pytest.approx(0.25)
    assert u.evaluation("disk", 2) == pytest.approx(0.5)
    assert u.evaluation("note", "gift wrap") == pytest.approx(0.5)
    assert u(("Mac", 4, "fast delivery please")) == pytest.approx(1.0)
    assert u.best_outcome() == ("Mac", 4, "fast delivery please")
    assert u(("Dell", 1, "gift wrap")) == pytest.approx(0.5 * 0.25 + 0.25 * 0.25 + 0.25 * 0.5)
    vector = u.utilities()
    assert vector.shape == (24,)
    assert np.allclose(vector, [u(o) for o in space.enumerate()])
    assert vector.min() >= 0 and vector.max() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("weights", "evaluations", "message"),
    [
        ({"a": 1}, {"a": {"x": 1}, "b": {"p": 1}}, "weights must name every issue"),
        ({"a": 1, "b": "heavy"}, {"a": {"x": 1}, "b": {"p": 1}}, "must be a number"),
        ({"a": -1, "b": 2}, {"a": {"x": 1}, "b": {"p": 1}}, "negative"),
        ({"a": 0, "b": 0}, {"a": {"x": 1}, "b": {"p": 1}}, "sum to 0"),
        ({"a": 1, "b": 1}, {"a": {"x": 1, "y": 2}, "b": {"p": 1}}, "unknown values"),
        ({"a": 1, "b": 1}, {"a": {}, "b": {"p": 1}}, "miss values"),
        ({"a": 1, "b": 1}, {"a": {"x": -1}, "b": {"p": 1}}, "negative"),
        ({"a": 1, "b": 1}, {"a": {"x": math.nan}, "b": {"p": 1}}, "finite"),
    ],
)
def test_linear_additive_rejects_bad_tables(
    weights: dict[str, object], evaluations: dict[str, dict[str, float]], message: str
) -> None:
    space = OutcomeSpace([DiscreteIssue("a", ("x",)), DiscreteIssue("b", ("p",))])
    with pytest.raises(NegotiationError, match=message):
        LinearAdditiveUtility(space, weights, evaluations)  # type: ignore[arg-type]


def test_all_zero_issue_contributes_nothing() -> None:
    space = OutcomeSpace([DiscreteIssue("a", ("x", "y")), DiscreteIssue("b", ("p", "q"))])
    u = LinearAdditiveUtility(
        space, {"a": 1, "b": 1}, {"a": {"x": 0, "y": 0}, "b": {"p": 1, "q": 3}}
    )
    assert u(("x", "q")) == pytest.approx(0.5)


def test_callable_utility_and_generic_path() -> None:
    space = laptop_space()
    u = CallableUtility(space, lambda o: 1.0 if o[0] == "HP" else 0.0)
    assert u(("HP", 2, "gift wrap")) == 1.0
    with pytest.raises(InvalidOutcome):
        u(("Acer", 2, "gift wrap"))
    assert float(u.utilities().sum()) == 8.0
    assert float(utilities_of(space, lambda o: float(o[1])).sum()) == 6 * (1 + 2 + 3 + 4)
    broken = CallableUtility(space, lambda o: math.inf)
    with pytest.raises(NegotiationError, match="finite"):
        broken(("HP", 2, "gift wrap"))


def test_red_lines_beat_high_utility() -> None:
    space = laptop_space()
    u = CallableUtility(space, lambda o: 1.0 if o[0] == "Mac" else 0.2)
    best = ("Mac", 4, "gift wrap")
    profile = Profile(
        space,
        u,
        reservation_value=0.5,
        red_lines=(
            RedLine.forbid([best], "that configuration is out of stock"),
            RedLine.when(lambda o: o[1] == 1, "disk 1 is too small for my work"),
        ),
    )
    assert profile(best) == 1.0
    assert not profile.acceptable(best)  # utility 1, still across a red line
    assert profile.crosses_red_line(best) is profile.red_lines[0]
    assert not profile.acceptable(("Mac", 1, "gift wrap"))  # predicate red line
    assert profile.acceptable(("Mac", 2, "gift wrap"))
    assert not profile.acceptable(("HP", 2, "gift wrap"))  # below reservation
    assert not profile.acceptable(("Lenovo", 2, "gift wrap"))  # not in the space
    mask = profile.acceptable_mask()
    assert mask.tolist() == [profile.acceptable(o) for o in space.enumerate()]
    assert int(mask.sum()) == 2 * 3 - 1  # Mac, disks 2-4, two notes, minus the forbidden one


def test_reservation_boundary_is_acceptable() -> None:
    space = OutcomeSpace([DiscreteIssue("a", ("x", "y"))])
    profile = Profile(space, CallableUtility(space, lambda o: 0.5), reservation_value=0.5)
    assert profile.acceptable(("x",))
    with pytest.raises(NegotiationError, match="reservation value"):
        Profile(space, profile.utility, reservation_value=math.nan)
