"""The value space: Schwartz's ten basic values and the 20 Touché23-ValueEval categories.

The value model predicts the 20 refined categories it was trained on; the owner's profile and the
questionnaire speak in the 10 original values, which people recognise. This module is the bridge.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from numbers import Real
from types import MappingProxyType

from edge_dan.errors import ProfileError

# Circumplex order: neighbours are compatible motivations, opposite values conflict.
ORIGINAL_VALUES: tuple[str, ...] = (
    "self-direction",
    "stimulation",
    "hedonism",
    "achievement",
    "power",
    "security",
    "conformity",
    "tradition",
    "benevolence",
    "universalism",
)

# Exactly as in the header of the Touché23-ValueEval label files, in that order, so a row of model
# scores lines up with this tuple without a lookup.
CATEGORIES: tuple[str, ...] = (
    "Self-direction: thought",
    "Self-direction: action",
    "Stimulation",
    "Hedonism",
    "Achievement",
    "Power: dominance",
    "Power: resources",
    "Face",
    "Security: personal",
    "Security: societal",
    "Tradition",
    "Conformity: rules",
    "Conformity: interpersonal",
    "Humility",
    "Benevolence: caring",
    "Benevolence: dependability",
    "Universalism: concern",
    "Universalism: nature",
    "Universalism: tolerance",
    "Universalism: objectivity",
)

# "Face" and "Humility" carry no value prefix. In Schwartz's original Value Survey the item
# "preserving my public image" was a power item and "humble" a tradition item, so that is where
# they go when the 20 categories fold back into the 10 original values.
_UNPREFIXED = {"Face": "power", "Humility": "tradition"}


def _value_of(category: str) -> str:
    if category in _UNPREFIXED:
        return _UNPREFIXED[category]
    value = category.split(":", 1)[0].strip().lower()
    if value not in ORIGINAL_VALUES:  # pragma: no cover - guards the constants above
        raise AssertionError(f"category {category!r} has no original value")
    return value


CATEGORY_TO_VALUE: Mapping[str, str] = MappingProxyType({c: _value_of(c) for c in CATEGORIES})

VALUE_DESCRIPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "self-direction": "Thinking for yourself and choosing your own path.",
        "stimulation": "Novelty, challenge and excitement; a life that does not stand still.",
        "hedonism": "Pleasure and enjoyment; treating yourself well.",
        "achievement": "Doing well by the standards that count and being seen as capable.",
        "power": "Control over people and resources, wealth, and keeping face.",
        "security": "Safety and stability for yourself, your family and your society.",
        "conformity": "Keeping to rules and not upsetting or harming others.",
        "tradition": "Honouring customs and beliefs handed down, and staying modest.",
        "benevolence": "Caring for the people close to you and being someone they can rely on.",
        "universalism": "Fairness and care for all people and for nature; open-mindedness.",
    }
)


def categories_of(value: str) -> tuple[str, ...]:
    """The categories that fold into ``value`` (any spelling ``parse_value_name`` accepts)."""
    name = parse_value_name(value)
    return tuple(c for c in CATEGORIES if CATEGORY_TO_VALUE[c] == name)


def parse_value_name(text: str) -> str:
    """Canonical name of a value: case-insensitive, spaces and underscores read as hyphens."""
    if not isinstance(text, str):
        raise ProfileError(f"a value name must be text, not {type(text).__name__}")
    name = "-".join(re.split(r"[\s_-]+", text.strip().lower()))
    if name not in ORIGINAL_VALUES:
        raise ProfileError(f"unknown value {text!r}; valid names: {', '.join(ORIGINAL_VALUES)}")
    return name


def _score(label: str, x: object) -> float:
    # bool is an int subclass but a True/False "score" is always a mistake; NaN would make the
    # maximum depend on category order.
    if isinstance(x, bool) or not isinstance(x, Real) or not math.isfinite(float(x)):
        raise ProfileError(f"score for {label!r} must be a finite number, got {x!r}")
    return float(x)


def to_original(scores: Mapping[str, float] | Sequence[float]) -> dict[str, float]:
    """Fold 20 category scores into the 10 original values by taking the maximum per value.

    ``scores`` is a mapping with exactly the 20 category names, or 20 numbers in ``CATEGORIES``
    order (any iterable, so a numpy row works too).
    """
    if isinstance(scores, Mapping):
        missing = [c for c in CATEGORIES if c not in scores]
        unknown = [k for k in scores if k not in CATEGORY_TO_VALUE]
        if missing or unknown:
            raise ProfileError(
                f"category scores must name exactly the {len(CATEGORIES)} categories; "
                f"missing: {missing or 'none'}; unknown: {unknown or 'none'}"
            )
        row = [_score(c, scores[c]) for c in CATEGORIES]
    elif isinstance(scores, str | bytes) or not isinstance(scores, Iterable):
        raise ProfileError(
            f"category scores must be a mapping or a sequence of numbers, "
            f"not {type(scores).__name__}"
        )
    else:
        items = list(scores)
        if len(items) != len(CATEGORIES):
            raise ProfileError(f"expected {len(CATEGORIES)} category scores, got {len(items)}")
        row = [_score(c, x) for c, x in zip(CATEGORIES, items, strict=True)]
    result: dict[str, float] = {}
    for category, x in zip(CATEGORIES, row, strict=True):
        value = CATEGORY_TO_VALUE[category]
        result[value] = max(result.get(value, x), x)
    return {v: result[v] for v in ORIGINAL_VALUES}
