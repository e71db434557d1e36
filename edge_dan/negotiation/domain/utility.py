"""Utility functions, reservation values, red lines and the owner's private profile.

A utility function maps an outcome to a number, 1 best; the linear additive kind stays in
``[0, 1]``. A :class:`Profile` is everything private an agent knows about its owner in one
negotiation: the utility function, the reservation value (the utility of walking away) and the
red lines (outcomes the owner must never be committed to, whatever their utility).
:meth:`Profile.acceptable` is the non-harm check of DESIGN: utility at least the reservation
value and no red line crossed.

Linear additive utility (as in GENIUS): ``u(o) = sum_i w_i * e_i(o_i) / max_v e_i(v)``, with the
weights ``w_i`` scaled to sum to 1 and each issue's evaluations ``e_i`` scaled by their maximum
over the issue's values (an issue whose evaluations are all 0 contributes 0). Evaluations must be
finite and non-negative, so utilities lie in ``[0, 1]`` and an outcome taking a best value on
every issue has utility 1. Issues named in ``as_given`` skip the scaling by the maximum: their
evaluations must already lie in ``[0, 1]`` (GENIUS's linear evaluators of integer and real
issues, GeniusWeb's value utilities), so there the best outcome may be worth less than 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast, runtime_checkable

import numpy as np
import numpy.typing as npt

from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.domain.outcomes import Issue, Outcome, OutcomeSpace, Value

FloatArray = npt.NDArray[np.float64]

TextScorer = Callable[[str], float]
"""Hook for the value model: scores one text option (higher is better for the owner).

Any such callable can serve as the evaluator of a :class:`~.outcomes.TextIssue` in
:class:`LinearAdditiveUtility`; its scores are then normalised by their maximum like a table.
"""

Evaluator = Mapping[Value, float] | Callable[[str], float] | Callable[[int], float]
"""One issue's evaluations: a table ``{value: score}`` covering every value, or a callable
taking the issue's values (``str`` for discrete and text issues, ``int`` for integer ranges)."""


@runtime_checkable
class UtilityFunction(Protocol):
    """Anything that maps an outcome to a utility."""

    def __call__(self, outcome: Outcome) -> float: ...


def _finite(number: object, what: str) -> float:
    if isinstance(number, bool) or not isinstance(number, int | float | np.floating):
        raise NegotiationError(f"{what} must be a number, got {number!r}")
    result = float(number)
    if not math.isfinite(result):
        raise NegotiationError(f"{what} must be finite, got {result!r}")
    return result


class WeightedTables:
    """``u(o) = sum_i weights[i] * tables[i][position of o_i]``, the numbers used as given.

    The shape of every linear additive utility; :class:`LinearAdditiveUtility` normalises its
    weights and evaluations first (GENIUS), a GeniusWeb profile does not.
    """

    def __init__(
        self, space: OutcomeSpace, weights: FloatArray, tables: Sequence[FloatArray]
    ) -> None:
        self.space = space
        self.weights: FloatArray = weights
        self.tables: tuple[FloatArray, ...] = tuple(tables)
        """Per issue, the score of each value in the issue's value order."""

    def __call__(self, outcome: Outcome) -> float:
        self.space.validate(outcome)
        return float(
            sum(
                w * table[issue.position(value)]
                for w, table, issue, value in zip(
                    self.weights, self.tables, self.space.issues, outcome, strict=True
                )
            )
        )

    def utilities(self) -> FloatArray:
        """Utility of every outcome of the space, in enumeration order (vectorised)."""
        self.space.iter_outcomes()  # enforce the space's bound before allocating
        total: FloatArray = np.zeros(1, dtype=np.float64)
        for w, table in zip(self.weights, self.tables, strict=True):
            total = (total[:, None] + w * table[None, :]).reshape(-1)
        return total


def _table(issue: Issue, evaluator: Evaluator, *, scale: bool) -> FloatArray:
    """One issue's evaluations in value order, divided by their maximum when ``scale``."""
    if isinstance(evaluator, Mapping):
        unknown = [v for v in evaluator if not issue.contains(v)]
        if unknown:
            raise NegotiationError(
                f"evaluations of issue {issue.name!r} name unknown values {unknown!r}"
            )
        absent = [v for v in issue.all_values() if v not in evaluator]
        if absent:
            raise NegotiationError(f"evaluations of issue {issue.name!r} miss values {absent!r}")
        scores = [evaluator[v] for v in issue.all_values()]
    else:
        function = cast(Callable[[Value], float], evaluator)
        scores = [function(v) for v in issue.all_values()]
    table = np.array(
        [_finite(s, f"evaluation in issue {issue.name!r}") for s in scores], dtype=np.float64
    )
    if (table < 0).any():
        raise NegotiationError(f"evaluations of issue {issue.name!r} must not be negative")
    if not scale:
        if (table > 1).any():
            raise NegotiationError(
                f"evaluations of issue {issue.name!r} are used as given and exceed 1"
            )
        return table
    top = float(table.max())
    return table / top if top > 0 else table


class LinearAdditiveUtility(WeightedTables):
    """Weighted sum of per-issue evaluations, each issue normalised by its maximum.

    Evaluations of the issues named in ``as_given`` are used unscaled and must lie in ``[0, 1]``.
    """

    def __init__(
        self,
        space: OutcomeSpace,
        weights: Mapping[str, float],
        evaluations: Mapping[str, Evaluator],
        *,
        as_given: Collection[str] = (),
    ) -> None:
        names = space.issue_names
        unknown_given = sorted(set(as_given) - set(names))
        if unknown_given:
            raise NegotiationError(f"as_given names unknown issues {unknown_given!r}")
        for kind, given in (("weights", weights), ("evaluations", evaluations)):
            extra = set(given) - set(names)
            missing = [n for n in names if n not in given]
            if extra or missing:
                raise NegotiationError(
                    f"{kind} must name every issue exactly: missing {missing!r}, "
                    f"unknown {sorted(extra)!r}"
                )
        raw_weights = np.array(
            [_finite(weights[n], f"weight of issue {n!r}") for n in names], dtype=np.float64
        )
        if (raw_weights < 0).any():
            raise NegotiationError(f"weights must not be negative: {dict(weights)!r}")
        total = float(raw_weights.sum())
        if total <= 0:
            raise NegotiationError("weights sum to 0: at least one issue must matter")
        tables = [
            _table(issue, evaluations[issue.name], scale=issue.name not in as_given)
            for issue in space.issues
        ]
        super().__init__(space, raw_weights / total, tables)

    def __repr__(self) -> str:
        weights = dict(zip(self.space.issue_names, self.weights.round(4).tolist(), strict=True))
        return f"LinearAdditiveUtility(weights={weights!r})"

    def weight(self, issue: str) -> float:
        """Normalised weight of ``issue``."""
        return float(self.weights[self.space.issue_position(issue)])

    def evaluation(self, issue: str, value: Value) -> float:
        """Normalised evaluation (0..1) of ``value`` on ``issue``."""
        position = self.space.issue_position(issue)
        return float(self.tables[position][self.space.issues[position].position(value)])

    def best_outcome(self) -> Outcome:
        """An outcome of the highest utility (a best value on every issue; first such value).

        Its utility is 1 unless some issue's evaluations are used as given and peak below 1.
        """
        return tuple(
            issue.value_at(int(np.argmax(table)))
            for issue, table in zip(self.space.issues, self.tables, strict=True)
        )


class CallableUtility:
    """Wraps any callable ``outcome -> float``; validates the outcome and the result."""

    def __init__(self, space: OutcomeSpace, function: Callable[[Outcome], float]) -> None:
        self.space = space
        self.function = function

    def __call__(self, outcome: Outcome) -> float:
        self.space.validate(outcome)
        return _finite(self.function(outcome), "utility")

    def utilities(self) -> FloatArray:
        """Utility of every outcome, in enumeration order (one call per outcome)."""
        return np.fromiter(
            (self(o) for o in self.space.iter_outcomes()),
            dtype=np.float64,
            count=self.space.cardinality,
        )


def utilities_of(space: OutcomeSpace, utility: UtilityFunction) -> FloatArray:
    """Utility of every outcome of ``space`` in enumeration order (fast path where possible)."""
    if isinstance(utility, LinearAdditiveUtility | CallableUtility) and utility.space == space:
        return utility.utilities()
    return np.fromiter(
        (_finite(utility(o), "utility") for o in space.iter_outcomes()),
        dtype=np.float64,
        count=space.cardinality,
    )


@dataclass(frozen=True)
class RedLine:
    """Outcomes an owner must never be committed to: a predicate, a set, or both.

    Build with :meth:`forbid` (explicit outcomes) or :meth:`when` (a predicate such as
    ``lambda o: o[2] == "22:00"``). ``reason`` is shown to the owner, never sent to peers.

    ::

        RedLine.when(lambda outcome: outcome[1] > 20, "not after 20:00")
    """

    reason: str
    outcomes: frozenset[Outcome] = frozenset()
    predicate: Callable[[Outcome], bool] | None = None

    @classmethod
    def forbid(cls, outcomes: Iterable[Outcome], reason: str) -> RedLine:
        """A red line around exactly ``outcomes``."""
        return cls(reason=reason, outcomes=frozenset(outcomes))

    @classmethod
    def when(cls, predicate: Callable[[Outcome], bool], reason: str) -> RedLine:
        """A red line around every outcome for which ``predicate`` is true."""
        return cls(reason=reason, predicate=predicate)

    @classmethod
    def forbid_value(cls, position: int, value: object, reason: str) -> RedLine:
        """A red line around every outcome whose issue ``position`` takes ``value``."""

        def crosses(outcome: Outcome) -> bool:
            return bool(outcome[position] == value)

        return cls(reason=reason, predicate=crosses)

    def crossed_by(self, outcome: Outcome) -> bool:
        """Whether ``outcome`` lies across this red line."""
        if outcome in self.outcomes:
            return True
        return self.predicate is not None and bool(self.predicate(outcome))


@dataclass(frozen=True)
class Profile:
    """An owner's private preferences in one outcome space.

    ``discount_factor`` is carried from GENIUS files for reference; nothing here uses it.
    """

    space: OutcomeSpace
    utility: UtilityFunction
    reservation_value: float = 0.0
    red_lines: tuple[RedLine, ...] = ()
    discount_factor: float | None = None
    name: str = ""
    _cache: dict[str, FloatArray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        _finite(self.reservation_value, "reservation value")
        object.__setattr__(self, "red_lines", tuple(self.red_lines))

    def __call__(self, outcome: Outcome) -> float:
        return float(self.utility(outcome))

    def crosses_red_line(self, outcome: Outcome) -> RedLine | None:
        """The first red line ``outcome`` crosses, or ``None``."""
        for line in self.red_lines:
            if line.crossed_by(outcome):
                return line
        return None

    def acceptable(self, outcome: Outcome) -> bool:
        """Non-harm: a valid outcome, utility >= reservation value, and no red line crossed."""
        if not self.space.is_valid(outcome):
            return False
        if self.crosses_red_line(outcome) is not None:
            return False
        return self.utility(outcome) >= self.reservation_value

    def utilities(self) -> FloatArray:
        """Utility of every outcome in enumeration order (computed once, then cached)."""
        if "u" not in self._cache:
            values = utilities_of(self.space, self.utility)
            values.setflags(write=False)
            self._cache["u"] = values
        return self._cache["u"]

    def acceptable_mask(self) -> npt.NDArray[np.bool_]:
        """``acceptable`` for every outcome in enumeration order."""
        mask = self.utilities() >= self.reservation_value
        if self.red_lines:
            for position, outcome in enumerate(self.space.iter_outcomes()):
                if mask[position] and self.crosses_red_line(outcome) is not None:
                    mask[position] = False
        return mask
