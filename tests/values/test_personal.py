"""The personal preference model: prior from the profile, Bradley-Terry learning, one answer
counts, explanations in plain words."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_dan.errors import UsageError
from edge_dan.values import CATEGORIES, ORIGINAL_VALUES, ValueProfile
from edge_dan.values.personal import (
    MARGIN,
    NEUTRAL_WEIGHT,
    PRIOR_SCALE,
    PersonalModel,
    features,
    fit_weights,
    prior_weights,
)

V = {v: i for i, v in enumerate(ORIGINAL_VALUES)}


def option(**effects: float) -> np.ndarray:
    """Signed value effects: 0 everywhere except the values named (underscores for hyphens)."""
    row = np.zeros(len(ORIGINAL_VALUES))
    for name, x in effects.items():
        row[V[name.replace("_", "-")]] = x
    return row


CARING = [option(benevolence=0.6 + 0.05 * k, universalism=0.3 + 0.04 * k) for k in range(6)]
DOMINANT = [option(power=0.6 + 0.05 * k, achievement=0.3 + 0.04 * k) for k in range(6)]
HELD_OUT = (option(benevolence=0.7, security=0.3), option(power=0.7, security=0.3))
POWER_LOVER = ValueProfile.neutral().edit({"power": 0.9, "achievement": 0.8, "benevolence": 0.2})


def test_prior_follows_the_profile_around_the_owners_average() -> None:
    w0 = prior_weights(POWER_LOVER)
    assert w0[V["power"]] == pytest.approx(NEUTRAL_WEIGHT + PRIOR_SCALE * 0.8)
    assert w0[V["benevolence"]] == pytest.approx(NEUTRAL_WEIGHT - PRIOR_SCALE * 0.6)
    assert w0[V["security"]] == pytest.approx(NEUTRAL_WEIGHT)
    # A neutral owner counts every value the same, a little: serving a value is good.
    assert np.all(prior_weights(ValueProfile.neutral()) == NEUTRAL_WEIGHT)


def test_without_feedback_the_weights_are_the_prior_and_say_so() -> None:
    model = PersonalModel.from_profile(POWER_LOVER)
    assert model.pairs == 0 and model.first_guess
    assert np.array_equal(model.weights, model.prior)
    explanation = model.explain(HELD_OUT[1])
    assert explanation.first_guess
    assert "first guess" in explanation.text
    # The owner rates power above their average: an option involving power scores higher.
    u = model.utility(np.array(HELD_OUT))
    assert u[1] > u[0]


def test_neutral_profile_ranks_by_values_served_less_those_gone_against() -> None:
    model = PersonalModel.from_profile(ValueProfile.neutral())
    serves_two = option(benevolence=0.8, universalism=0.6)
    serves_one = option(hedonism=0.7)
    mixed = option(hedonism=0.9, benevolence=-0.9)
    u = model.utility(np.array([serves_two, serves_one, mixed]))
    assert u[0] > u[1] > u[2]
    text = model.explain(serves_two).text
    assert "your profile is neutral" in text
    assert model.explain(option()).text.startswith("no value speaks")


def test_consistent_feedback_flips_a_held_out_pair() -> None:
    model = PersonalModel.from_profile(POWER_LOVER)
    caring, dominant = HELD_OUT
    assert model.prefer_probability(caring, dominant) < 0.5
    flipped_after = None
    for k, (a, b) in enumerate(zip(CARING, DOMINANT, strict=True), 1):
        model = model.feedback(a, b)
        if flipped_after is None and model.prefer_probability(caring, dominant) > 0.5:
            flipped_after = k
    # The prior gives way to a few consistent answers (each answer is held, so soon).
    assert flipped_after is not None and flipped_after <= 3
    assert model.weights[V["benevolence"]] > 0 and model.weights[V["power"]] < 0.5
    assert model.prefer_probability(caring, dominant) > 0.6


def test_one_answer_counts_without_swinging_everything() -> None:
    model = PersonalModel.from_profile(POWER_LOVER)
    a, b = CARING[0], DOMINANT[0]
    assert float(model.utility(a)[0]) < float(model.utility(b)[0])
    once = model.feedback(a, b)
    # The answer holds at once: the chosen option now ranks above the other, by the margin.
    assert float(once.utility(a)[0]) > float(once.utility(b)[0])
    assert float((once.utility(a) - once.utility(b))[0]) >= MARGIN * 0.99
    # Options that look like the chosen one move with it.
    assert once.prefer_probability(HELD_OUT[0], HELD_OUT[1]) > model.prefer_probability(
        HELD_OUT[0], HELD_OUT[1]
    )
    # Values the answer says nothing about stay where the profile put them.
    moved = np.abs(once.weights - model.weights)
    assert moved[V["hedonism"]] < 0.05 and moved[V["tradition"]] < 0.05


def test_the_newest_answer_wins_when_the_owner_changes_their_mind() -> None:
    model = PersonalModel.from_profile(POWER_LOVER)
    a, b = CARING[0], DOMINANT[0]
    changed = model.feedback(a, b).feedback(b, a)
    assert float(changed.utility(b)[0]) > float(changed.utility(a)[0])


def test_undo_restores_the_model_bit_for_bit() -> None:
    model = PersonalModel.from_profile(POWER_LOVER)
    for a, b in zip(CARING[:3], DOMINANT[:3], strict=True):
        model = model.feedback(a, b)
    later = model.feedback(CARING[3], DOMINANT[3])
    undone = later.without(-1)
    assert undone == model
    assert np.array_equal(undone.weights, model.weights)
    assert np.array_equal(undone.utility(np.array(HELD_OUT)), model.utility(np.array(HELD_OUT)))
    # Removing a middle answer equals never having given it.
    middle = later.without(1)
    again = PersonalModel.from_profile(POWER_LOVER, [(CARING[k], DOMINANT[k]) for k in (0, 2, 3)])
    assert np.array_equal(middle.weights, again.weights)
    with pytest.raises(UsageError):
        later.without(4)


def test_fit_is_the_map_optimum() -> None:
    rng = np.random.default_rng(1)
    d = rng.uniform(-1, 1, size=(30, 10))
    w0 = rng.normal(size=10)
    w, sd = fit_weights(d, w0, regularisation=0.7)
    p = 1 / (1 + np.exp(d @ w))
    gradient = -(d.T @ p) + 0.7 * (w - w0)
    assert np.abs(gradient).max() < 1e-9
    assert np.all(sd > 0) and np.all(sd < 1 / np.sqrt(0.7) + 1e-12)


def test_separable_answers_stay_finite() -> None:
    # The same answer 200 times: without the prior the weights would run off to infinity.
    model = PersonalModel.from_profile(ValueProfile.neutral())
    for _ in range(200):
        model = model.feedback(CARING[0], DOMINANT[0])
    assert np.all(np.isfinite(model.weights)) and np.abs(model.weights).max() < 20


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.floats(-1, 1), min_size=10, max_size=10),
            st.lists(st.floats(-1, 1), min_size=10, max_size=10),
        ),
        max_size=6,
    ),
    st.lists(st.floats(-1, 1), min_size=10, max_size=10),
    st.lists(st.floats(-1, 1), min_size=10, max_size=10),
)
def test_an_answer_never_lowers_the_odds_of_what_was_chosen(
    history: list[tuple[list[float], list[float]]], a: list[float], b: list[float]
) -> None:
    model = PersonalModel.from_profile(POWER_LOVER, history)
    after = model.feedback(a, b)
    assert after.prefer_probability(a, b) >= model.prefer_probability(a, b) - 1e-9


def test_explanation_names_values_for_and_against_in_plain_words() -> None:
    profile = ValueProfile.neutral().edit({"benevolence": 0.9, "power": 0.1, "security": 0.7})
    model = PersonalModel.from_profile(profile)
    row = option(benevolence=0.5, power=0.4, security=0.35, hedonism=-0.6)
    e = model.explain(row, top=2)
    assert [c.value for c in e.speaks_for] == ["benevolence", "security"]
    assert [c.value for c in e.speaks_against] == ["power", "hedonism"]
    w_ben = NEUTRAL_WEIGHT + PRIOR_SCALE * 0.8
    assert e.speaks_for[0].contribution == pytest.approx(0.5 * w_ben)
    assert f"serves benevolence (caring for the people close to you) +{0.5 * w_ben:.2f}" in e.text
    assert "goes against hedonism (enjoying life) -0.30" in e.text
    assert "serves power (status, control and wealth) -0.44" in e.text
    full = model.explain(row, top=10, floor=0.0, effect_floor=0.0)
    total = sum(c.contribution for c in full.speaks_for + full.speaks_against)
    assert total == pytest.approx(e.utility) == pytest.approx(float(model.utility(row)[0]))
    data = e.to_dict()
    assert data["for"][0]["value"] == "benevolence" and data["first_guess"] is True


def test_an_unsure_reading_counts_but_is_not_put_in_words() -> None:
    # The model barely leans on self-direction (0.2, under EXPLAIN_EFFECT_FLOOR): it still moves
    # the utility, but no explanation claims the option serves or goes against it.
    model = PersonalModel.from_profile(ValueProfile.neutral().edit({"self-direction": 1.0}))
    row = option(self_direction=0.2, benevolence=0.6)
    e = model.explain(row, top=10)
    assert [c.value for c in e.speaks_for] == ["benevolence"]
    assert "self-direction" not in e.text
    assert e.utility == pytest.approx(float(model.utility(row)[0]))


def test_a_violated_value_is_never_named_as_served() -> None:
    # The owner dislikes power: an option that goes against power gains from it, and the
    # explanation says so without claiming the option serves power.
    profile = ValueProfile.neutral().edit({"power": 0.05})
    model = PersonalModel.from_profile(profile)
    e = model.explain(option(power=-0.8, benevolence=0.2))
    power = next(c for c in e.speaks_for if c.value == "power")
    assert power.effect < 0 and power.contribution > 0
    assert power.words.startswith("goes against power") and "matters little to you" in power.words
    assert "serves power" not in e.text
    assert power.to_dict()["direction"] == "goes against"


def test_category_scores_fold_by_the_maximum() -> None:
    row = np.zeros(len(CATEGORIES))
    row[CATEGORIES.index("Power: dominance")] = 0.3
    row[CATEGORIES.index("Face")] = 0.8
    row[CATEGORIES.index("Benevolence: caring")] = 0.4
    f = features(row)
    assert f.shape == (1, 10)
    assert f[0, V["power"]] == 0.8 and f[0, V["benevolence"]] == 0.4
    model = PersonalModel.from_profile(POWER_LOVER)
    assert model.utility(row)[0] == pytest.approx(model.utility(f)[0])


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros(7),
        np.zeros((2, 3)),
        np.full(10, np.nan),
        np.full(10, 1.5),
        np.full(20, -0.1),
        np.full(10, -1.2),
    ],
)
def test_bad_scores_are_refused(bad: np.ndarray) -> None:
    model = PersonalModel.from_profile(POWER_LOVER)
    with pytest.raises(UsageError):
        model.utility(bad)
    with pytest.raises(UsageError):
        model.feedback(bad, CARING[0])


def test_state_for_inspection() -> None:
    model = PersonalModel.from_profile(POWER_LOVER, [(CARING[0], DOMINANT[0])])
    state = model.to_dict()
    assert state["pairs"] == 1 and set(state["weights"]) == set(ORIGINAL_VALUES)
    assert np.array_equal(PersonalModel.weights_from_dict(state), model.weights)
    implied = model.implied_profile()
    assert all(0.0 <= x <= 1.0 for x in implied.values())
    assert PersonalModel.from_profile(POWER_LOVER).implied_profile() == pytest.approx(
        POWER_LOVER.to_dict()
    )
    with pytest.raises(ValueError, match="read-only"):
        model.weights[0] = 1.0
