"""The Little Dan strategy: concession levels, the non-harm floor, alternating-offers decisions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.domain.outcomes import DiscreteIssue, OutcomeSpace
from edge_dan.negotiation.domain.utility import Evaluator, LinearAdditiveUtility, Profile, RedLine
from edge_dan.negotiation.strategy import AlternatingOffers, LittleDan, Policy


@st.composite
def profiles(draw: st.DrawFn) -> Profile:
    sizes = draw(st.lists(st.integers(2, 4), min_size=1, max_size=3))
    space = OutcomeSpace(
        [DiscreteIssue(f"i{n}", tuple(f"v{k}" for k in range(s))) for n, s in enumerate(sizes)]
    )
    weights: dict[str, float] = {f"i{n}": draw(st.integers(1, 9)) for n in range(len(sizes))}
    evaluations: dict[str, Evaluator] = {
        f"i{n}": {f"v{k}": float(draw(st.integers(0, 9))) for k in range(s)}
        for n, s in enumerate(sizes)
    }
    forbidden = draw(st.lists(st.sampled_from(space.enumerate()), max_size=2))
    return Profile(
        space,
        LinearAdditiveUtility(space, weights, evaluations),
        reservation_value=draw(st.sampled_from([0.0, 0.3, 0.6])),
        red_lines=(RedLine.forbid(forbidden, "no"),) if forbidden else (),
    )


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(profiles(), st.integers(1, 20), st.sampled_from([0.0, 0.5, 0.9]))
def test_levels_list_exactly_the_acceptable_outcomes_best_first(
    profile: Profile, levels: int, minimum: float
) -> None:
    dan = LittleDan(profile, policy=Policy(min_utility=minimum))
    listed = dan.concession_levels(levels)
    assert len(listed) == levels
    flat = [index for level in listed for index in level]
    expected = {i for i, o in enumerate(profile.space.iter_outcomes()) if dan.acceptable(o)}
    assert sorted(flat) == sorted(expected)
    utilities = profile.utilities()
    ordered = [float(utilities[i]) for i in flat]
    assert ordered == sorted(ordered, reverse=True)
    assert all(utilities[i] >= max(profile.reservation_value, minimum) for i in flat)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(profiles(), st.lists(st.floats(0, 1), min_size=1, max_size=8), st.data())
def test_alternating_offers_never_accepts_or_offers_what_the_owner_refuses(
    profile: Profile, times: list[float], data: st.DataObject
) -> None:
    dan = LittleDan(profile)
    core = AlternatingOffers(dan)
    outcomes = profile.space.enumerate()
    for time in sorted(times):
        offer = data.draw(st.sampled_from(outcomes))
        core.observe(offer)
        if core.respond(offer, time):
            assert dan.acceptable(offer)
        mine = core.propose(time)
        assert mine is None or dan.acceptable(mine)
        assert (mine is None) == (not any(dan.acceptable(o) for o in outcomes))


def test_alternating_offers_hold_out_against_a_hard_liner() -> None:
    space = OutcomeSpace([DiscreteIssue("price", tuple(str(p) for p in range(11)))])
    mine = Profile(
        space,
        LinearAdditiveUtility(space, {"price": 1}, {"price": {str(p): p for p in range(11)}}),
    )
    core = AlternatingOffers(LittleDan(mine))
    hard = ("2",)  # the opponent's favourite, worth 0.2 to us, offered every step
    accepted_at = next((step / 20 for step in range(21) if core.respond(hard, step / 20)), None)
    assert accepted_at is not None and accepted_at >= 0.7
    aspirations = [core.aspiration(step / 20) for step in range(21)]
    assert aspirations == sorted(aspirations, reverse=True)
    assert aspirations[0] == 1.0 and aspirations[-1] == 0.0


def test_offers_move_towards_what_the_opponent_asks_for() -> None:
    space = OutcomeSpace(
        [DiscreteIssue("colour", ("red", "blue")), DiscreteIssue("size", ("s", "m", "l"))]
    )
    mine = Profile(
        space,
        LinearAdditiveUtility(
            space,
            {"colour": 1, "size": 1},
            {"colour": {"red": 1, "blue": 1}, "size": {"s": 0, "m": 0.5, "l": 1}},
        ),
    )
    core = AlternatingOffers(LittleDan(mine))
    for _ in range(3):
        core.observe(("blue", "s"))
    # Red and blue are the same to us: at a high aspiration we offer the colour they want.
    assert core.propose(0.0) == ("blue", "l")


def test_bad_arguments_are_refused() -> None:
    space = OutcomeSpace([DiscreteIssue("x", ("a", "b"))])
    profile = Profile(space, LinearAdditiveUtility(space, {"x": 1}, {"x": {"a": 1, "b": 0}}))
    with pytest.raises(NegotiationError):
        AlternatingOffers(LittleDan(profile), exponent=0)
    with pytest.raises(NegotiationError):
        LittleDan(profile).concession_levels(0)
    with pytest.raises(NegotiationError):
        Policy(min_utility=float("nan"))
    assert np.array_equal(LittleDan(profile).acceptable_mask(), [True, True])
