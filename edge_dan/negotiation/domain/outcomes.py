"""Issues and outcome spaces.

An outcome space is the Cartesian product of its issues. An :data:`Outcome` is a tuple holding
one value per issue, in the order of the space's issues. Three kinds of issue exist:

- :class:`DiscreteIssue`: a finite list of named values (``"Dell"``, ``"Macintosh"``);
- :class:`IntegerIssue`: the integers of an inclusive range ``low..high``;
- :class:`TextIssue`: a finite list of free-text options (for example proposals a person typed),
  which a utility function may score through the value model (see
  :data:`edge_dan.negotiation.domain.utility.TextScorer`).

Enumeration is bounded: a space refuses to list itself when it holds more than
``max_cardinality`` outcomes (default :data:`DEFAULT_MAX_CARDINALITY`), with
:class:`~edge_dan.negotiation.domain.errors.OutcomeSpaceTooLarge`. Outcomes are enumerated in
mixed-radix order (the last issue varies fastest), and :meth:`OutcomeSpace.index` /
:meth:`OutcomeSpace.outcome_at` convert between an outcome and its position in that order
without enumerating.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from edge_dan.negotiation.domain.errors import (
    InvalidOutcome,
    NegotiationError,
    OutcomeSpaceTooLarge,
)

Value = str | int
"""One issue's value: a name or text option (``str``) or an integer."""

Outcome = tuple[Value, ...]
"""One value per issue, in the order of the outcome space's issues."""

DEFAULT_MAX_CARDINALITY = 1_000_000
"""Largest outcome space enumerated unless the caller raises the bound."""


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not name:
        raise NegotiationError(f"{kind} name must be a non-empty string, got {name!r}")


@dataclass(frozen=True)
class _FiniteIssue:
    """Shared code of issues that list their values explicitly."""

    name: str
    values: tuple[str, ...]
    _positions: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name("issue", self.name)
        values = tuple(self.values)
        object.__setattr__(self, "values", values)
        if not values:
            raise NegotiationError(f"issue {self.name!r} has no values")
        positions: dict[str, int] = {}
        for position, value in enumerate(values):
            if not isinstance(value, str):
                raise NegotiationError(
                    f"issue {self.name!r}: values must be strings, got {value!r}"
                )
            if value in positions:
                raise NegotiationError(f"issue {self.name!r}: value {value!r} appears twice")
            positions[value] = position
        object.__setattr__(self, "_positions", positions)

    @property
    def cardinality(self) -> int:
        """Number of values."""
        return len(self.values)

    def contains(self, value: object) -> bool:
        """Whether ``value`` is one of this issue's values."""
        return isinstance(value, str) and value in self._positions

    def position(self, value: Value) -> int:
        """Position of ``value`` among the values; :class:`InvalidOutcome` if it is not one."""
        if not isinstance(value, str) or value not in self._positions:
            raise InvalidOutcome(f"{value!r} is not a value of issue {self.name!r}")
        return self._positions[value]

    def value_at(self, position: int) -> Value:
        """The value at ``position`` (0-based)."""
        if not 0 <= position < len(self.values):
            raise InvalidOutcome(f"issue {self.name!r} has no value at position {position}")
        return self.values[position]

    def all_values(self) -> tuple[Value, ...]:
        """Every value, in order."""
        return self.values


@dataclass(frozen=True)
class DiscreteIssue(_FiniteIssue):
    """An issue with a finite list of named values.

    ::

        DiscreteIssue("dinner", ("pizza", "curry", "salad"))
    """


@dataclass(frozen=True)
class TextIssue(_FiniteIssue):
    """An issue whose values are free-text options (scored e.g. by the value model).

    ::

        TextIssue("plan", ["Visit grandma and cook for her", "Watch the final at the pub"])
    """


@dataclass(frozen=True)
class IntegerIssue:
    """The integers ``low..high`` inclusive.

    ::

        IntegerIssue("start_hour", 17, 21)        # 17, 18, 19, 20 or 21
    """

    name: str
    low: int
    high: int

    def __post_init__(self) -> None:
        _check_name("issue", self.name)
        for bound in (self.low, self.high):
            if isinstance(bound, bool) or not isinstance(bound, int):
                raise NegotiationError(
                    f"issue {self.name!r}: bounds must be integers, got {bound!r}"
                )
        if self.low > self.high:
            raise NegotiationError(
                f"issue {self.name!r}: empty range {self.low}..{self.high} (low > high)"
            )

    @property
    def cardinality(self) -> int:
        """Number of integers in the range."""
        return self.high - self.low + 1

    def contains(self, value: object) -> bool:
        """Whether ``value`` is an integer (not a bool) inside the range."""
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
        )

    def position(self, value: Value) -> int:
        """Offset of ``value`` from ``low``; :class:`InvalidOutcome` outside the range."""
        if not self.contains(value):
            raise InvalidOutcome(
                f"{value!r} is not an integer in {self.low}..{self.high} (issue {self.name!r})"
            )
        assert isinstance(value, int)
        return value - self.low

    def value_at(self, position: int) -> Value:
        """The integer at offset ``position`` from ``low``."""
        if not 0 <= position < self.cardinality:
            raise InvalidOutcome(f"issue {self.name!r} has no value at position {position}")
        return self.low + position

    def all_values(self) -> tuple[Value, ...]:
        """Every integer of the range, ascending (mind the size for wide ranges)."""
        return tuple(range(self.low, self.high + 1))

    @property
    def values(self) -> range:
        """The range itself (lazy, so a wide range costs nothing until enumerated)."""
        return range(self.low, self.high + 1)


Issue = DiscreteIssue | TextIssue | IntegerIssue
"""Any issue kind."""

REAL_ISSUE_POINTS = 11
"""Grid points of a real-valued range that gives no step of its own (both bounds included)."""

MAX_GRID_POINTS = 10_000
"""Most grid points one real-valued range may become."""


MAX_EXPONENT = 30
"""Grid points and their step lie within ``1e-30..1e30`` in magnitude (or are 0): a label
writes every digit, so ``1e999999`` would be a megabyte of zeros."""


def _decimal_label(number: Decimal) -> str:
    if number and abs(number.adjusted()) > MAX_EXPONENT:
        raise NegotiationError(f"{number} is beyond 1e{MAX_EXPONENT} or below 1e-{MAX_EXPONENT}")
    text = format(number.normalize(), "f")
    return "0" if text in {"-0", ""} else text


def number_label(number: Decimal | int | float) -> str:
    """The value label :func:`real_issue` gives ``number`` (``2.50`` and ``2.5`` -> ``"2.5"``)."""
    return _decimal_label(Decimal(str(number)) if isinstance(number, float) else Decimal(number))


def real_issue(
    name: str,
    low: Decimal,
    high: Decimal,
    *,
    step: Decimal | None = None,
    points: int = REAL_ISSUE_POINTS,
) -> DiscreteIssue:
    """A real-valued range ``low..high`` as a :class:`DiscreteIssue` of evenly spaced points.

    The points are ``low, low + step, ...`` up to ``high`` (``high`` itself is a point only
    when a step lands on it), or, without ``step``, ``points`` points from ``low`` to ``high``
    inclusive. Each value is the point written as a plain decimal (``"0.25"``), computed in
    :class:`~decimal.Decimal` arithmetic so both parties derive the same labels from the same
    bounds; :func:`float` of a label is the number.

    Why a discrete grid rather than a continuous issue: every protocol here enumerates
    outcomes (the mediator's listings, the Pareto and Nash analysis, the bounded outcome
    space), the ``Agenda`` wire message carries only discrete, integer and text issues, and an
    accord signs its terms exactly. A grid of exact decimal labels keeps all three exact
    (a float on the wire would be compared for equality), at the price of offering only the
    grid's points. :data:`REAL_ISSUE_POINTS` (11: a tenth of the range apart) keeps a few real
    issues inside the default outcome bound; a caller wanting finer offers passes ``points``.
    """
    _check_name("issue", name)
    for number in (low, high, step or Decimal(1)):
        if not number.is_finite():
            raise NegotiationError(f"issue {name!r}: {number} is not finite")
        if number and abs(number.adjusted()) > MAX_EXPONENT:
            raise NegotiationError(f"issue {name!r}: {number} is too large or too small")
    if low > high:
        raise NegotiationError(f"issue {name!r}: empty range {low}..{high} (low > high)")
    if step is not None and (not step.is_finite() or step <= 0):
        raise NegotiationError(f"issue {name!r}: step {step} must be positive")
    if step is None and not 2 <= points <= MAX_GRID_POINTS:  # both bounds are points
        raise NegotiationError(f"issue {name!r}: {points} grid points is not 2..{MAX_GRID_POINTS}")
    try:
        with localcontext() as context:
            context.prec = 28
            if step is None:
                context.prec = 12  # "0.333333333333", not 28 digits of a third
                count = points if low < high else 1
                spacing = (high - low) / (count - 1) if count > 1 else Decimal(0)
                numbers = [low + spacing * k for k in range(count - 1)] + [high]
            else:
                span = (high - low) / step
                if span >= MAX_GRID_POINTS:  # compared before int(): a huge span stays cheap
                    raise NegotiationError(
                        f"issue {name!r}: more than {MAX_GRID_POINTS} grid points"
                    )
                count = int(span) + 1
                numbers = [low + step * k for k in range(count)]
            labels = list(dict.fromkeys(_decimal_label(+n) for n in numbers))
    except ArithmeticError as error:  # decimal overflow or underflow of extreme bounds
        raise NegotiationError(f"issue {name!r}: bounds out of range ({error!r})") from None
    if len(labels) != count:
        raise NegotiationError(f"issue {name!r}: grid points too close to tell apart")
    return DiscreteIssue(name, tuple(labels))


class OutcomeSpace:
    """The Cartesian product of ``issues``, enumerable up to ``max_cardinality`` outcomes.

    ::

        space = OutcomeSpace([TextIssue("plan", ["Cook for grandma", "Hike"]),
                              IntegerIssue("start_hour", 9, 14)])
        space.cardinality                         # 12 outcomes
    """

    def __init__(
        self,
        issues: Sequence[Issue],
        *,
        name: str = "",
        max_cardinality: int = DEFAULT_MAX_CARDINALITY,
    ) -> None:
        issues = tuple(issues)
        if not issues:
            raise NegotiationError("an outcome space needs at least one issue")
        seen: set[str] = set()
        for issue in issues:
            if not isinstance(issue, DiscreteIssue | TextIssue | IntegerIssue):
                raise NegotiationError(f"not an issue: {issue!r}")
            if issue.name in seen:
                raise NegotiationError(f"issue name {issue.name!r} appears twice")
            seen.add(issue.name)
        if max_cardinality < 1:
            raise NegotiationError(f"max_cardinality must be positive, got {max_cardinality}")
        self.issues: tuple[Issue, ...] = issues
        self.name = name
        self.max_cardinality = max_cardinality
        self._by_name = {issue.name: position for position, issue in enumerate(issues)}
        self._radices = tuple(issue.cardinality for issue in issues)

    def __repr__(self) -> str:
        return (
            f"OutcomeSpace(name={self.name!r}, issues={[i.name for i in self.issues]!r}, "
            f"cardinality={self.cardinality})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OutcomeSpace):
            return NotImplemented
        return self.issues == other.issues

    def __hash__(self) -> int:
        return hash(self.issues)

    @property
    def issue_names(self) -> tuple[str, ...]:
        """Issue names in outcome order."""
        return tuple(issue.name for issue in self.issues)

    @property
    def cardinality(self) -> int:
        """Number of outcomes (product of the issues' cardinalities), whatever the bound."""
        return math.prod(self._radices)

    def issue(self, name: str) -> Issue:
        """The issue called ``name``."""
        try:
            return self.issues[self._by_name[name]]
        except KeyError:
            raise NegotiationError(f"no issue called {name!r} in this outcome space") from None

    def issue_position(self, name: str) -> int:
        """Position of the issue called ``name`` inside an outcome tuple."""
        try:
            return self._by_name[name]
        except KeyError:
            raise NegotiationError(f"no issue called {name!r} in this outcome space") from None

    def _check_enumerable(self) -> None:
        if self.cardinality > self.max_cardinality:
            raise OutcomeSpaceTooLarge(
                f"outcome space {self.name or '(unnamed)'} has {self.cardinality} outcomes, "
                f"more than the bound of {self.max_cardinality}; raise max_cardinality or "
                "use a strategy that does not enumerate the space"
            )

    def enumerate(self) -> list[Outcome]:
        """Every outcome in mixed-radix order; refuses spaces above ``max_cardinality``."""
        return list(self.iter_outcomes())

    def iter_outcomes(self) -> Iterator[Outcome]:
        """Lazy enumeration (same order and same bound as :meth:`enumerate`)."""
        self._check_enumerable()
        return itertools.product(*(issue.all_values() for issue in self.issues))

    def __len__(self) -> int:
        return self.cardinality

    def __contains__(self, outcome: object) -> bool:
        return self.is_valid(outcome)

    def is_valid(self, outcome: object) -> bool:
        """Whether ``outcome`` is a tuple with one valid value per issue."""
        return (
            isinstance(outcome, tuple)
            and len(outcome) == len(self.issues)
            and all(
                issue.contains(value) for issue, value in zip(self.issues, outcome, strict=True)
            )
        )

    def validate(self, outcome: object) -> Outcome:
        """Return ``outcome`` if it is valid, else raise :class:`InvalidOutcome` saying why."""
        if not isinstance(outcome, tuple):
            raise InvalidOutcome(f"an outcome must be a tuple, got {type(outcome).__name__}")
        if len(outcome) != len(self.issues):
            raise InvalidOutcome(
                f"an outcome must have {len(self.issues)} values (one per issue), "
                f"got {len(outcome)}"
            )
        for issue, value in zip(self.issues, outcome, strict=True):
            issue.position(value)
        return outcome

    def index(self, outcome: Outcome) -> int:
        """Position of ``outcome`` in enumeration order (no enumeration needed)."""
        self.validate(outcome)
        position = 0
        for issue, radix, value in zip(self.issues, self._radices, outcome, strict=True):
            position = position * radix + issue.position(value)
        return position

    def outcome_at(self, position: int) -> Outcome:
        """The outcome at ``position`` in enumeration order."""
        if isinstance(position, bool) or not 0 <= position < self.cardinality:
            raise InvalidOutcome(
                f"no outcome at position {position} (space has {self.cardinality})"
            )
        digits: list[int] = []
        for radix in reversed(self._radices):
            position, digit = divmod(position, radix)
            digits.append(digit)
        digits.reverse()
        return tuple(
            issue.value_at(digit) for issue, digit in zip(self.issues, digits, strict=True)
        )

    def as_dict(self, outcome: Outcome) -> dict[str, Value]:
        """``{issue name: value}`` for a valid outcome."""
        self.validate(outcome)
        return dict(zip(self.issue_names, outcome, strict=True))

    def from_dict(self, values: Mapping[str, Value]) -> Outcome:
        """The outcome holding ``values`` (exactly one entry per issue, no extras)."""
        extra = set(values) - set(self.issue_names)
        if extra:
            raise InvalidOutcome(f"unknown issues {sorted(extra)!r}")
        missing = [name for name in self.issue_names if name not in values]
        if missing:
            raise InvalidOutcome(f"missing issues {missing!r}")
        return self.validate(tuple(values[name] for name in self.issue_names))
