"""What Little Dan judges about one option: which values it serves or goes against, and harm.

The value model produces a ``Judgement`` per option text (``ValueModel.judge``); everything that
decides with it (ranking, refusal, negotiation red lines) lives above and reads only these types.

Non-harm is not a value to be weighed: an option judged harmful is refused before any ranking,
whatever the owner's profile or answers, and the reason is said in plain words
("harms another person: violence"). The owner can contest one refusal; the contest applies to that
exact option text and nothing else (see ``refusals``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from edge_dan.errors import UsageError
from edge_dan.values.schwartz import ORIGINAL_VALUES

# Harm kinds the model tells apart, with the words a person reads in a refusal.
HARM_KINDS: tuple[str, ...] = (
    "violence",
    "cruelty",
    "theft",
    "fraud",
    "deception",
    "humiliation",
    "privacy",
    "endangering",
    "illegal",
    "discrimination",
    "self",
)
HARM_WORDS = MappingProxyType(
    {
        "violence": "violence",
        "cruelty": "cruelty",
        "theft": "theft",
        "fraud": "fraud",
        "deception": "deception that damages someone",
        "humiliation": "humiliation",
        "privacy": "a privacy violation",
        "endangering": "endangering others",
        "illegal": "breaking the law at someone's cost",
        "discrimination": "discrimination",
        "self": "serious harm to yourself",
    }
)
# Who is harmed, and how a refusal says it.
HARM_TARGETS: tuple[str, ...] = ("other", "animal", "self", "group")
TARGET_WORDS = MappingProxyType(
    {
        "other": "harms another person",
        "animal": "harms an animal",
        "self": "seriously harms you",
        "group": "harms other people",
    }
)

# Plain words for each value, as a person reads them in an explanation: "serves benevolence
# (caring for the people close to you)", "goes against conformity (not upsetting others)".
PLAIN_SERVES = MappingProxyType(
    {
        "self-direction": "choosing your own path",
        "stimulation": "novelty and excitement",
        "hedonism": "enjoying life",
        "achievement": "doing well and succeeding",
        "power": "status, control and wealth",
        "security": "safety and stability",
        "conformity": "keeping to rules and not upsetting others",
        "tradition": "customs and modesty",
        "benevolence": "caring for the people close to you",
        "universalism": "fairness and care for all people and nature",
    }
)


@dataclass(frozen=True)
class Harm:
    """A harm judgement: the option would hurt someone (or seriously hurt the owner)."""

    kind: str
    target: str
    probability: float

    def __post_init__(self) -> None:
        if self.kind not in HARM_KINDS:
            raise UsageError(f"unknown harm kind {self.kind!r}")
        if self.target not in HARM_TARGETS:
            raise UsageError(f"unknown harm target {self.target!r}")
        if not (math.isfinite(self.probability) and 0.0 <= self.probability <= 1.0):
            raise UsageError("a harm probability must be within [0, 1]")

    @property
    def reason(self) -> str:
        """Plain words, e.g. ``harms another person: violence``."""
        target = "self" if self.kind == "self" else self.target
        if target == "self" and self.kind != "self":
            return f"{TARGET_WORDS['self']}: {HARM_WORDS[self.kind]}"
        if target == "self":
            return TARGET_WORDS["self"]
        return f"{TARGET_WORDS[target]}: {HARM_WORDS[self.kind]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "kind": self.kind,
            "target": self.target,
            "probability": self.probability,
        }


@dataclass(frozen=True)
class Judgement:
    """The model's reading of one option.

    ``effects``: per value (``ORIGINAL_VALUES`` order) in [-1, 1], P(promotes) - P(violates);
    ``salience``: per value in [0, 1], how much the value is at stake (1 - P(leaves it alone));
    ``harm_probability``: calibrated probability that doing it harms someone;
    ``harm``: set when the model's decision is "harmful" (the probability crossed its threshold).
    """

    effects: tuple[float, ...]
    salience: tuple[float, ...]
    harm_probability: float
    harm: Harm | None

    def __post_init__(self) -> None:
        for name, row, low in (("effects", self.effects, -1.0), ("salience", self.salience, 0.0)):
            if len(row) != len(ORIGINAL_VALUES):
                raise UsageError(f"{name} must hold one number per value")
            if not all(math.isfinite(x) and low - 1e-9 <= x <= 1.0 + 1e-9 for x in row):
                raise UsageError(f"{name} must lie within [{low:g}, 1]")

    @property
    def harmful(self) -> bool:
        return self.harm is not None

    def effect(self, value: str) -> float:
        return self.effects[ORIGINAL_VALUES.index(value)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "effects": dict(zip(ORIGINAL_VALUES, self.effects, strict=True)),
            "salience": dict(zip(ORIGINAL_VALUES, self.salience, strict=True)),
            "harm_probability": self.harm_probability,
            "harm": None if self.harm is None else self.harm.to_dict(),
        }


@dataclass(frozen=True)
class Refusal:
    """An option put out of the ranking because it would harm someone."""

    index: int
    text: str | None
    harm: Harm
    contested: bool = False  # the owner contested it: it is ranked, and this records why

    def to_dict(self, *, with_text: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index}
        if with_text and self.text is not None:
            out["option"] = self.text
        out.update(self.harm.to_dict())
        return out


def option_key(text: str) -> str:
    """The key an option is recognised by (contests, answers): case and spacing ignored."""
    return " ".join(text.casefold().split())


def refusals(
    judgements: Sequence[Judgement],
    texts: Sequence[str] | None = None,
    *,
    contested: frozenset[str] | set[str] = frozenset(),
) -> tuple[list[int], list[Refusal]]:
    """Split options into the acceptable (their positions) and the refused.

    An option whose text the owner contested (``contested`` holds ``option_key`` of each) stays
    acceptable; nothing else about harm depends on the owner.
    """
    if texts is not None and len(texts) != len(judgements):
        raise UsageError(f"{len(texts)} texts for {len(judgements)} judgements")
    keep: list[int] = []
    refused: list[Refusal] = []
    for i, j in enumerate(judgements):
        text = None if texts is None else texts[i]
        if j.harm is not None and not (text is not None and option_key(text) in contested):
            refused.append(Refusal(i, text, j.harm))
        else:
            keep.append(i)
    return keep, refused
