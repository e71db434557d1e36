"""The value space, the owner's value profile and the questionnaire that seeds it (pure, no I/O)."""

from edge_dan.values.profile import SOURCES, ChangeSource, ProfileChange, ValueProfile
from edge_dan.values.questionnaire import (
    ANSWER_LABELS,
    ITEMS,
    ITEMS_BY_ID,
    Item,
    QuizResult,
    load_answers,
    score,
)
from edge_dan.values.schwartz import (
    CATEGORIES,
    CATEGORY_TO_VALUE,
    ORIGINAL_VALUES,
    VALUE_DESCRIPTIONS,
    categories_of,
    parse_value_name,
    to_original,
)

__all__ = [
    "ANSWER_LABELS",
    "CATEGORIES",
    "CATEGORY_TO_VALUE",
    "ITEMS",
    "ITEMS_BY_ID",
    "ORIGINAL_VALUES",
    "SOURCES",
    "VALUE_DESCRIPTIONS",
    "ChangeSource",
    "Item",
    "ProfileChange",
    "QuizResult",
    "ValueProfile",
    "categories_of",
    "load_answers",
    "parse_value_name",
    "score",
    "to_original",
]
