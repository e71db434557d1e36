"""The shipped model's judgement: signed value effects, harm, batch independence, bad heads.

Behaviour on a handful of plain cases a person would try first (not corpus items: the corpus's
test split is measured by bench/judgement.py, never asserted on here). Scores are compared with
tolerances, never exactly: other CPUs round differently (the cross-CPU check is
tools/cpus/check.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from modelkit import ARTIFACTS, copy_of, need_runtime

from edge_dan.model import ModelError, ValueModel
from edge_dan.values.schwartz import ORIGINAL_VALUES

V = {v: i for i, v in enumerate(ORIGINAL_VALUES)}
# Batched texts are padded to the longest one; padding is masked, so only float summation order
# changes with the batch: 1e-4 leaves room for that on any CPU.
BATCH_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def model() -> ValueModel:
    need_runtime()
    loaded = ValueModel.load()
    if not loaded.judges:
        pytest.skip("the shipped tier has no judgement head")
    return loaded


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("punch a stranger who insulted me", "violence"),
        ("steal money from my employer", "theft"),
        ("cheat on my taxes", "fraud"),
        ("pocket the cash from the office collection for Sue's leaving gift", None),
        ("read my partner's messages while she sleeps", "privacy"),
        ("kick the neighbour's dog when nobody is looking", None),
    ],
)
def test_plain_harm_is_judged_harmful(model: ValueModel, text: str, kind: str | None) -> None:
    (j,) = model.judge([text])
    assert j.harm is not None, (text, j.harm_probability)
    if kind is not None:
        assert j.harm.kind == kind
    assert j.harm.reason.startswith(("harms another person", "harms an animal", "harms other"))


@pytest.mark.parametrize(
    "text",
    [
        "call my mother tonight",
        "kill some time at the bookshop before the train",
        "smash my personal best at the gym",
        "go hiking with friends on Saturday",
    ],
)
def test_harmless_options_are_not_refused(model: ValueModel, text: str) -> None:
    (j,) = model.judge([text])
    assert j.harm is None, (text, j.harm_probability)


@pytest.mark.parametrize(
    ("serves", "violates", "value"),
    [
        pytest.param(
            "keep my promise to help a friend move house",
            "break my promise to help a friend move house",
            "benevolence",
            marks=pytest.mark.xfail(
                strict=True,
                reason="a known miss of this build: 'help a friend' outweighs 'break my promise' "
                "(models/README.md, Known limits)",
            ),
        ),
        ("keep my promise to my sister", "break my promise to my sister", "benevolence"),
        ("book the surf lesson I have been eyeing", "cancel the surf lesson", "stimulation"),
        ("pay my taxes on time", "skip paying my taxes this year", "conformity"),
    ],
)
def test_direction_follows_the_words(
    model: ValueModel, serves: str, violates: str, value: str
) -> None:
    a, b = model.judge([serves, violates])
    assert a.effect(value) > 0 > b.effect(value) or a.effect(value) > b.effect(value) + 0.3


def test_judgements_are_well_formed(model: ValueModel) -> None:
    (j,) = model.judge(["volunteer at the food bank on Sunday"])
    assert len(j.effects) == len(j.salience) == len(ORIGINAL_VALUES)
    assert all(-1 <= e <= 1 for e in j.effects) and all(0 <= s <= 1 for s in j.salience)
    assert int(np.argmax(j.salience)) in (V["benevolence"], V["universalism"])
    assert j.effect("benevolence") > 0 or j.effect("universalism") > 0
    assert model.effects(["a", "b"]).shape == (2, len(ORIGINAL_VALUES))


def test_a_judgement_does_not_depend_on_its_batch(tmp_path: Path) -> None:
    need_runtime()
    texts = [
        "go",
        "punch a stranger who insulted me",
        "spend the whole weekend helping my elderly neighbour clear out her garage and garden "
        "before winter, then cook her a proper dinner and stay for a long chat about her family",
    ]
    alone = ValueModel.load(batch_size=1)
    batched = ValueModel.load(batch_size=32)
    one = [alone.judge([t])[0] for t in texts]
    many = batched.judge(texts)
    for a, b in zip(one, many, strict=True):
        assert np.max(np.abs(np.subtract(a.effects, b.effects))) < BATCH_TOLERANCE
        assert abs(a.harm_probability - b.harm_probability) < BATCH_TOLERANCE
        assert (a.harm is None) == (b.harm is None)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    need_runtime()
    return copy_of(ARTIFACTS, tmp_path)


def test_a_damaged_judgement_head_is_named(copy: Path) -> None:
    if not (copy / "judge.npz").is_file():
        pytest.skip("the shipped tier has no judgement head")
    (copy / "judge.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(ModelError, match="judge"):
        ValueModel.load(copy)
    with pytest.raises(ModelError, match="judgement head"):
        ValueModel.load(copy, verify=False)


def test_a_tier_without_a_judgement_head_says_so(copy: Path) -> None:
    meta = json.loads((copy / "meta.json").read_text())
    meta.pop("judge", None)
    (copy / "meta.json").write_text(json.dumps(meta))
    model = ValueModel.load(copy)
    assert not model.judges
    with pytest.raises(ModelError, match="no judgement head"):
        model.judge(["anything"])
