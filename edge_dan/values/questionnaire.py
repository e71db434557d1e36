"""A short portrait questionnaire that gives the owner's first value profile.

Each item describes a person; the owner says how much that person is like them. Portraits work
better than "how important is X to you?" because people rate nearly every abstract value as
important. Scoring follows the PVQ method: a value's raw score is the mean of its items, then the
owner's mean over all answers is subtracted, because people use the scale differently and only
the ordering of their own values tells us their priorities.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from edge_dan.errors import ProfileError
from edge_dan.values.profile import ValueProfile
from edge_dan.values.schwartz import ORIGINAL_VALUES

ANSWER_LABELS: Mapping[int, str] = MappingProxyType(
    {
        1: "Not like me at all",
        2: "Not like me",
        3: "A little like me",
        4: "Somewhat like me",
        5: "Like me",
        6: "Very much like me",
    }
)
ANSWER_MIN, ANSWER_MAX = min(ANSWER_LABELS), max(ANSWER_LABELS)

# An answers file is a couple of hundred bytes; refuse anything absurd before parsing it.
MAX_ANSWERS_FILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Item:
    id: str
    value: str
    text: str


# Item ids start with a code for the value they measure.
_CODES = {
    "sd": "self-direction",
    "st": "stimulation",
    "he": "hedonism",
    "ac": "achievement",
    "po": "power",
    "se": "security",
    "co": "conformity",
    "tr": "tradition",
    "be": "benevolence",
    "un": "universalism",
}

# Presentation order: round-robin over the values so no two neighbouring items measure the same
# value (answering a block of look-alike items invites repeating the same answer).
ITEMS: tuple[Item, ...] = tuple(
    Item(i, _CODES[i[:2]], "It matters to them " + text)
    for i, text in (
        ("sd1", "to form their own opinions and work problems out their own way."),
        ("se1", "to live somewhere safe and to avoid anything that risks their health."),
        ("be1", "to help the people close to them whenever they need it."),
        ("po1", "to be in charge and to have the final say over what others do."),
        ("st1", "to seek out new experiences and try things they have never done."),
        ("tr1", "to keep up the customs of the family or community they come from."),
        ("un1", "that everyone is treated fairly, even people they will never meet."),
        ("ac1", "to succeed at what they take on, and for others to notice it."),
        ("he1", "to enjoy life's pleasures and to make time for fun."),
        ("co1", "to follow the rules, even when nobody would know if they broke them."),
        ("sd2", "to choose how they live without needing anyone's approval."),
        ("se2", "that the state keeps order and protects its citizens from threats."),
        ("be2", "that friends and family can always count on them."),
        ("po2", "to be wealthy and to own expensive things."),
        ("st2", "to have an exciting life; routine soon bores them."),
        ("tr2", "to stay modest and not to put themselves forward."),
        ("un2", "to protect nature and to do their part for the environment."),
        ("ac2", "to be highly capable and to do better than most in their field."),
        ("he2", "to treat themselves and do whatever makes them feel good."),
        ("co2", "never to annoy or upset others, even if it means holding back."),
        ("sd3", "to come up with original ideas and to be creative."),
        ("se3", "that their household is secure and their future provided for."),
        ("be3", "to put the well-being of the people they love before their comfort."),
        ("po3", "to guard their reputation and never to be embarrassed in public."),
        ("tr3", "to hold on to the beliefs handed down by their family or faith."),
        ("un3", "to listen to people who see things differently and to try to understand them."),
    )
)
ITEMS_BY_ID: Mapping[str, Item] = MappingProxyType({item.id: item for item in ITEMS})


@dataclass(frozen=True)
class QuizResult:
    """Scores per value: ``raw`` (item means, 1-6), ``centered`` (raw minus the owner's mean over
    all answers), ``weights`` (centred scores mapped onto [0, 1]) and the resulting ``profile``.
    ``uniform`` is True when every answer was the same, so the answers say nothing about priorities.
    """

    raw: dict[str, float]
    centered: dict[str, float]
    weights: dict[str, float]
    profile: ValueProfile
    uniform: bool
    mean: float


def _is_answer(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and ANSWER_MIN <= x <= ANSWER_MAX


def score(answers: Mapping[str, int]) -> QuizResult:
    """Score a complete set of answers (item id -> 1..6)."""
    if not isinstance(answers, Mapping):
        raise ProfileError(f"answers must be a mapping of item id to 1..6, not {answers!r}")
    problems = []
    missing = [item.id for item in ITEMS if item.id not in answers]
    if missing:
        problems.append(f"unanswered items: {', '.join(missing)}")
    unknown = [repr(k) for k in answers if k not in ITEMS_BY_ID]
    if unknown:
        problems.append(f"unknown items: {', '.join(unknown)}")
    bad = [f"{k}={v!r}" for k, v in answers.items() if k in ITEMS_BY_ID and not _is_answer(v)]
    if bad:
        problems.append(
            f"answers must be whole numbers {ANSWER_MIN}-{ANSWER_MAX}: {', '.join(bad)}"
        )
    if problems:
        raise ProfileError("; ".join(problems))

    mean = math.fsum(answers[item.id] for item in ITEMS) / len(ITEMS)
    raw: dict[str, float] = {}
    for value in ORIGINAL_VALUES:
        mine = [answers[item.id] for item in ITEMS if item.value == value]
        raw[value] = math.fsum(mine) / len(mine)
    centered = {v: raw[v] - mean for v in ORIGINAL_VALUES}
    # Two scale points above the owner's own mean is as high as a value gets, two below as low:
    # centred scores mostly stay within that band, and the cap keeps one extreme answer pattern
    # from pushing every other value towards the middle.
    weights = {v: min(1.0, max(0.0, 0.5 + c / 4)) for v, c in centered.items()}
    return QuizResult(
        raw=raw,
        centered=centered,
        weights=weights,
        profile=ValueProfile(weights),
        uniform=len({answers[item.id] for item in ITEMS}) == 1,
        mean=mean,
    )


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # json keeps the last of repeated keys silently; two answers to one item is a mistake to report.
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _json_type(x: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(x), "number")


@dataclass(frozen=True)
class Questionnaire:
    """The value questionnaire: its portrait items, the six answers, and how answers score.

    ``QUESTIONNAIRE`` is the one this package asks (``edge-dan profile quiz``); an app shows its
    items and answer labels and keeps the answers with ``owner.profile.take_quiz``::

        from edge_dan import QUESTIONNAIRE
        for item in QUESTIONNAIRE.items:             # Item(id="sd1", value=..., text=...)
            print(item.text, QUESTIONNAIRE.answer_labels)   # 1 "Not like me at all" ... 6
        result = owner.profile.take_quiz(answers)    # {item id: 1..6} for every item
        result.profile, result.uniform               # the new profile; all answers alike?
    """

    items: tuple[Item, ...]
    answer_labels: Mapping[int, str]

    def score(self, answers: Mapping[str, int]) -> QuizResult:
        """Score a complete set of answers (item id -> 1..6) without keeping them."""
        return score(answers)


QUESTIONNAIRE = Questionnaire(ITEMS, ANSWER_LABELS)


def load_answers(path: str | os.PathLike[str]) -> dict[str, int]:
    """Read answers from JSON: ``{"sd1": 5, ...}`` or ``{"answers": {"sd1": 5, ...}}``.

    Only the shape and types are checked here; ``score`` checks ids, completeness and range.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            blob = f.read(MAX_ANSWERS_FILE_BYTES + 1)
    except OSError as e:
        raise ProfileError(f"cannot read answers file {name}: {e.strerror or e}") from None
    if len(blob) > MAX_ANSWERS_FILE_BYTES:
        raise ProfileError(
            f"{name}: larger than {MAX_ANSWERS_FILE_BYTES} bytes, not an answers file"
        )
    try:
        data = json.loads(blob.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError:
        raise ProfileError(f"{name}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise ProfileError(
            f"{name}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}"
        ) from None
    except _DuplicateKey as e:
        raise ProfileError(f"{name}: key {e.args[0]!r} appears twice") from None
    except RecursionError:
        raise ProfileError(f"{name}: JSON nested too deeply") from None

    if isinstance(data, dict) and "answers" in data:
        data = data["answers"]
    if not isinstance(data, dict):
        raise ProfileError(
            f"{name}: expected a JSON object of item id to answer, got {_json_type(data)}"
        )
    answers: dict[str, int] = {}
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProfileError(
                f"{name}: answer to {key!r} must be a whole number, "
                f"got {_json_type(value)} {value!r}"
            )
        answers[key] = value
    return answers
