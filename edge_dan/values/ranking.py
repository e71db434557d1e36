"""Ranking options for the owner, each with the values that speak for and against it (pure numpy).

The caller judges the options with the value model (``ValueModel.judge``) and passes the owner's
``PersonalModel``; nothing here runs a model or touches the store. ``rank_judged`` is the whole
rule: options judged harmful are refused first, whatever the profile (unless the owner contested
that very text), and never enter the ranking; the rest are ranked by the owner's utility of their
signed value effects, with the owner's own answers kept: an option the owner preferred over
another stays above it (the newest answer wins when two disagree).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_dan.errors import UsageError
from edge_dan.values.judgement import Judgement, Refusal, option_key, refusals
from edge_dan.values.personal import Explanation, PersonalModel, features


@dataclass(frozen=True)
class RankedOption:
    rank: int  # 1 = best for the owner
    index: int  # position of the option in the input
    text: str | None
    utility: float
    explanation: Explanation

    def to_dict(self, *, with_text: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"rank": self.rank, "index": self.index, "utility": self.utility}
        if with_text and self.text is not None:
            out["option"] = self.text
        out.update({k: v for k, v in self.explanation.to_dict().items() if k != "utility"})
        return out


@dataclass(frozen=True)
class Ranking:
    """The acceptable options best first, and the refused ones apart with their reasons.

    What ``owner.rank(options, model)`` returns::

        for option in ranking.ranked:        # rank 1 first; ``index`` is its input position
            print(option.rank, option.text, option.explanation.text)
        for refusal in ranking.refused:      # never ranked, whatever the profile
            print(refusal.text, refusal.harm.reason)
        ranking.to_dict()                    # {"ranking": [...], "refused": [...]}
    """

    ranked: list[RankedOption]
    refused: list[Refusal]

    def to_dict(self, *, with_text: bool = True) -> dict[str, Any]:
        return {
            "ranking": [r.to_dict(with_text=with_text) for r in self.ranked],
            "refused": [r.to_dict(with_text=with_text) for r in self.refused],
        }


def _kept_order(
    utility: npt.NDArray[np.float64],
    texts: Sequence[str] | None,
    preferences: Sequence[tuple[str, str]],
) -> list[int]:
    """Positions best first: by utility (ties in input order), except that an option the owner
    preferred over another option in the list stays above it. Answers are taken newest first and
    one that would close a cycle with newer ones is skipped, so the newest word wins."""
    order = [int(i) for i in np.argsort(-utility, kind="stable")]
    if texts is None or not preferences:
        return order
    where = {option_key(t): i for i, t in enumerate(texts)}
    above: dict[int, set[int]] = {i: set() for i in range(len(texts))}  # i must come after these

    def reaches(a: int, b: int) -> bool:  # is a already required above b?
        stack, seen = [b], set()
        while stack:
            x = stack.pop()
            if x == a:
                return True
            if x not in seen:
                seen.add(x)
                stack.extend(above[x])
        return False

    for preferred, rejected in reversed(list(preferences)):
        a, b = where.get(option_key(preferred)), where.get(option_key(rejected))
        if a is None or b is None or a == b or reaches(b, a):
            continue
        above[b].add(a)
    rank_of = {i: r for r, i in enumerate(order)}
    placed: list[int] = []
    left = set(order)
    while left:
        ready = [i for i in left if not (above[i] & left)]
        best = min(ready, key=rank_of.__getitem__)
        placed.append(best)
        left.remove(best)
    return placed


def rank(
    scores: npt.ArrayLike,
    model: PersonalModel,
    *,
    texts: Sequence[str] | None = None,
    top: int = 3,
    preferences: Sequence[tuple[str, str]] = (),
) -> list[RankedOption]:
    """Options best first. Equal utilities keep their input order, so the result is deterministic.

    ``scores`` is (n, 10) signed effects (or (n, 20) category scores of older tiers); ``texts``
    (optional) are carried along for display and for ``preferences``, the owner's answers as
    (preferred text, rejected text), oldest first. No harm check here: see ``rank_judged``.
    """
    f = features(scores)
    if texts is not None and len(texts) != len(f):
        raise UsageError(f"{len(texts)} texts for {len(f)} score rows")
    utility = model.utility(f)
    order = _kept_order(utility, texts, preferences)
    return [
        RankedOption(
            rank=r,
            index=int(i),
            text=None if texts is None else texts[int(i)],
            utility=float(utility[i]),
            explanation=model.explain(f[int(i)], top=top),
        )
        for r, i in enumerate(order, 1)
    ]


def rank_judged(
    judgements: Sequence[Judgement],
    model: PersonalModel,
    *,
    texts: Sequence[str] | None = None,
    top: int = 3,
    contested: frozenset[str] | set[str] = frozenset(),
    preferences: Sequence[tuple[str, str]] = (),
) -> Ranking:
    """Refuse what would harm someone, rank the rest for the owner (module docstring)."""
    keep, refused = refusals(judgements, texts, contested=contested)
    if not keep:
        return Ranking([], refused)
    effects = np.array([judgements[i].effects for i in keep], dtype=np.float64)
    sub = rank(
        effects,
        model,
        texts=None if texts is None else [texts[i] for i in keep],
        top=top,
        preferences=preferences,
    )
    ranked = [RankedOption(r.rank, keep[r.index], r.text, r.utility, r.explanation) for r in sub]
    return Ranking(ranked, refused)


def order(scores: npt.ArrayLike, model: PersonalModel) -> list[int]:
    """Just the input positions, best first."""
    return [r.index for r in rank(scores, model)]


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall tau-a of two score lists over the same items (a pair tied in either counts 0)."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise UsageError("kendall_tau needs two lists of the same length")
    n = len(x)
    if n < 2:
        raise UsageError("kendall_tau needs at least two items")
    i, j = np.triu_indices(n, k=1)
    return float(np.sum(np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])) / (n * (n - 1) / 2))


MAX_OPTION_CHARS = 2000


def clean_option(text: object, *, what: str = "an option") -> str:
    """An option text as kept and scored: NFC, surrounding whitespace removed. ``UsageError`` for
    empty or over-long text (the message never repeats the text: options are private)."""
    if not isinstance(text, str):
        raise UsageError(f"{what} must be text, not {type(text).__name__}")
    cleaned = unicodedata.normalize("NFC", text).strip()
    if not cleaned:
        raise UsageError(f"{what} is empty; describe the option in a few words")
    if len(cleaned) > MAX_OPTION_CHARS:
        raise UsageError(f"{what} has {len(cleaned)} characters; at most {MAX_OPTION_CHARS}")
    return cleaned


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def clean_options(texts: Sequence[object]) -> list[str]:
    """Options to rank: each cleaned; at least one; no option twice (ignoring case and spacing)."""
    if isinstance(texts, str):
        raise UsageError("pass a list of options, not a single string")
    cleaned = [clean_option(t, what=f"option {i}") for i, t in enumerate(texts, 1)]
    if not cleaned:
        raise UsageError("give at least one option")
    seen: dict[str, int] = {}
    for i, text in enumerate(cleaned, 1):
        if _key(text) in seen:
            raise UsageError(f"options {seen[_key(text)]} and {i} are the same option")
        seen[_key(text)] = i
    return cleaned


def clean_pair(preferred: object, rejected: object) -> tuple[str, str]:
    """The two options of one answer; ``UsageError`` if either is empty or they are the same."""
    a = clean_option(preferred, what="the preferred option")
    b = clean_option(rejected, what="the rejected option")
    if _key(a) == _key(b):
        raise UsageError("the preferred and the rejected option are the same; give two options")
    return a, b
