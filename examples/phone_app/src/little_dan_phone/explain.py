"""What the screens show, as plain data: the value chart, a ranking, an accord and its why.

No toga here and no asyncio: the presenter builds these from the owner's store and the value
model, and any view (toga, a test, a terminal) reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from edge_dan import Accord, AccordError, OutcomeSpace, Owner, TextIssue, ValueModel


@dataclass(frozen=True)
class Bar:
    """One value of the owner's chart: its name and weight (0 to 1)."""

    value: str
    weight: float


@dataclass(frozen=True)
class Ranked:
    """One option as Little Dan ranks it for the owner, with the values that speak for it."""

    rank: int
    text: str
    why: str


@dataclass(frozen=True)
class Term:
    """One issue of an accord: what was agreed and, for a free-text option, why in plain words."""

    issue: str
    value: str
    why: str


@dataclass(frozen=True)
class AccordCard:
    """An accord as the owner reads it: the terms, the why, and whether every signature checks."""

    id: str  # hex, the first 12 digits as `edge-dan accords` shows them
    topic: str
    terms: tuple[Term, ...]
    parties: int
    signed: int
    verified: bool
    problem: str  # why the signatures do not check ("" when they do)


def chart(owner: Owner) -> list[Bar]:
    """The owner's ten values in circumplex order (neighbours are related motivations)."""
    return [Bar(value, weight) for value, weight in owner.profile.current().weights.items()]


def _plain(text: str) -> str:
    # The model's note on how weights were set is for `edge-dan score`; a phone screen is small.
    return text.split(" (first guess", 1)[0].split(" (your profile is neutral", 1)[0]


def ranking(owner: Owner, model: ValueModel, options: Sequence[str]) -> list[Ranked]:
    """The options best first for the owner: profile, answers kept, harmful ones left out."""
    texts = list(options)
    result = owner.rank(texts, model)  # the rule `edge-dan score` ranks by
    return [Ranked(r.rank, texts[r.index], _plain(r.explanation.text)) for r in result.ranked]


Topic = tuple[str, OutcomeSpace]  # a negotiation's title and its outcome space


def _options_of(topics: Sequence[Topic], issue: str, value: str) -> tuple[str, list[str]]:
    """The title and options of the newest known text issue ``issue`` that offered ``value``."""
    for title, space in reversed(topics):
        for found in space.issues:
            if isinstance(found, TextIssue) and found.name == issue and value in found.values:
                return title, [str(option) for option in found.values]
    return "", [value]  # a space this app never saw: explain the agreed option on its own


def card(accord: Accord, owner: Owner, model: ValueModel, topics: Sequence[Topic]) -> AccordCard:
    """``accord`` for the owner; ``topics`` are the negotiations this app took part in (the
    accord's signed bytes hold the terms, not the title nor the other options)."""
    try:
        accord.verify()  # every party's signature, offline
        verified, problem = True, ""
    except AccordError as exc:
        verified, problem = False, str(exc)
    terms, topic = [], ""
    for issue, value in accord.outcome:
        text = str(value)
        title, options = _options_of(topics, issue, text)
        topic = topic or title
        why = ""
        for ranked in ranking(owner, model, options):
            if ranked.text == text:
                place = f"your choice {ranked.rank} of {len(options)}: " if len(options) > 1 else ""
                why = place + ranked.why
        terms.append(Term(issue, text, why or "Little Dan would not rank it for you"))
    return AccordCard(
        id=accord.id.hex()[:12],
        topic=topic,
        terms=tuple(terms),
        parties=len(accord.parties),
        signed=len(accord.parties) - len(accord.missing),
        verified=verified,
        problem=problem,
    )
