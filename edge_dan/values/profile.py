"""The owner's value profile and the record of how it changed.

Weights live on [0, 1]: 0 means the value does not matter to the owner at all, 0.5 that it matters
as much as their values do on average, 1 that it is of supreme importance. The scale is relative
to the person (as the questionnaire's centred scores are): it records what matters more or less
to this owner, not how generously they use a rating scale.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from numbers import Real
from types import MappingProxyType
from typing import Any, Literal, get_args

from edge_dan.errors import ProfileError
from edge_dan.values.schwartz import ORIGINAL_VALUES, parse_value_name

ChangeSource = Literal["init", "quiz", "edit", "import", "feedback"]
SOURCES: tuple[str, ...] = get_args(ChangeSource)


def _weight(name: str, x: object) -> float:
    # bool is an int subclass; a True "weight" is a slip, not 1.0.
    if isinstance(x, bool) or not isinstance(x, Real):
        raise ProfileError(f"weight of {name} must be a number in [0, 1], got {x!r}")
    w = float(x)
    if not (math.isfinite(w) and 0.0 <= w <= 1.0):
        raise ProfileError(f"weight of {name} must be within [0, 1], got {x!r}")
    return w


def _canonical(names: Iterable[object]) -> dict[object, str]:
    """Map each given key to its canonical value name, refusing two spellings of one value."""
    seen: dict[str, object] = {}
    out: dict[object, str] = {}
    for key in names:
        if not isinstance(key, str):
            raise ProfileError(f"a value name must be text, not {key!r}")
        name = parse_value_name(key)
        if name in seen:
            raise ProfileError(f"{seen[name]!r} and {key!r} both name {name}")
        seen[name] = key
        out[key] = name
    return out


class ValueProfile:
    """Immutable weights for the 10 original values, in circumplex order.

    ::

        profile = ValueProfile.neutral().edit({"benevolence": 0.9, "power": 0.1})
        owner.profile.edit({"benevolence": 0.9})  # the same, kept in the owner's store
    """

    __slots__ = ("_weights",)
    _weights: tuple[float, ...]

    def __init__(self, weights: Mapping[str, float]) -> None:
        """Build from a weight for every value; names may use any spelling the parser accepts."""
        if not isinstance(weights, Mapping):
            raise ProfileError(f"weights must be a mapping, not {type(weights).__name__}")
        names = _canonical(list(weights))
        by_name = {names[k]: _weight(names[k], w) for k, w in weights.items()}
        missing = [v for v in ORIGINAL_VALUES if v not in by_name]
        if missing:
            raise ProfileError(f"a profile needs a weight for every value; missing: {missing}")
        object.__setattr__(self, "_weights", tuple(by_name[v] for v in ORIGINAL_VALUES))

    @classmethod
    def neutral(cls) -> ValueProfile:
        """Every value at the owner's average (0.5): the profile before anything is known."""
        return cls(dict.fromkeys(ORIGINAL_VALUES, 0.5))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ValueProfile is immutable; use edit()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("ValueProfile is immutable")

    @property
    def weights(self) -> Mapping[str, float]:
        """Read-only mapping value -> weight, in ``ORIGINAL_VALUES`` order."""
        return MappingProxyType(dict(zip(ORIGINAL_VALUES, self._weights, strict=True)))

    def weight(self, name: str) -> float:
        return self._weights[ORIGINAL_VALUES.index(parse_value_name(name))]

    def edit(self, changes: Mapping[str, float]) -> ValueProfile:
        """A new profile with the given weights replaced; this one is unchanged."""
        if not isinstance(changes, Mapping):
            raise ProfileError(f"changes must be a mapping, not {type(changes).__name__}")
        names = _canonical(list(changes))
        merged = dict(self.weights)
        merged.update({names[k]: _weight(names[k], w) for k, w in changes.items()})
        return ValueProfile(merged)

    def diff(self, other: ValueProfile) -> dict[str, tuple[float, float]]:
        """Values whose weight differs, as value -> (weight here, weight in ``other``)."""
        return {
            v: (a, b)
            for v, a, b in zip(ORIGINAL_VALUES, self._weights, other._weights, strict=True)
            if a != b
        }

    def to_dict(self) -> dict[str, float]:
        return dict(self.weights)

    @classmethod
    def from_dict(cls, data: object) -> ValueProfile:
        """Strict inverse of ``to_dict``: exactly the 10 canonical names, each weight in [0, 1]."""
        if not isinstance(data, Mapping):
            raise ProfileError(f"a stored profile must be an object, not {type(data).__name__}")
        keys = set(data)
        if keys != set(ORIGINAL_VALUES):
            missing = sorted(set(ORIGINAL_VALUES) - keys)
            unknown = sorted(map(repr, keys - set(ORIGINAL_VALUES)))
            raise ProfileError(
                f"a stored profile must have exactly the 10 value names; "
                f"missing: {missing or 'none'}; unknown: {', '.join(unknown) or 'none'}"
            )
        return cls({v: _weight(v, data[v]) for v in ORIGINAL_VALUES})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ValueProfile):
            return NotImplemented
        return self._weights == other._weights

    def __hash__(self) -> int:
        return hash(self._weights)

    def __repr__(self) -> str:
        inner = ", ".join(
            f"{v!r}: {w:g}" for v, w in zip(ORIGINAL_VALUES, self._weights, strict=True)
        )
        return f"ValueProfile({{{inner}}})"


def _changes(data: object) -> Mapping[str, tuple[float, float]]:
    if not isinstance(data, Mapping):
        raise ProfileError(f"changes must be a mapping, not {type(data).__name__}")
    names = _canonical(list(data))
    out: dict[str, tuple[float, float]] = {}
    for key, pair in data.items():
        name = names[key]
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ProfileError(f"change of {name} must be an (old, new) pair, got {pair!r}")
        out[name] = (_weight(name, pair[0]), _weight(name, pair[1]))
    # Circumplex order, so a stored history reads the same way every time.
    return MappingProxyType({v: out[v] for v in ORIGINAL_VALUES if v in out})


@dataclass(frozen=True)
class ProfileChange:
    """One entry of the profile history: what changed, when, why."""

    at: datetime
    source: ChangeSource
    changes: Mapping[str, tuple[float, float]]
    note: str = field(default="")

    def __post_init__(self) -> None:
        at: object = self.at
        if not isinstance(at, datetime) or at.utcoffset() is None:
            raise ProfileError(f"a change needs a timezone-aware time, got {at!r}")
        if self.source not in SOURCES:
            raise ProfileError(
                f"unknown change source {self.source!r}; one of {', '.join(SOURCES)}"
            )
        note: object = self.note
        if not isinstance(note, str):
            raise ProfileError(f"a change note must be text, got {note!r}")
        # Normalise so equal moments compare and serialise equally wherever they were recorded.
        object.__setattr__(self, "at", at.astimezone(UTC))
        object.__setattr__(self, "changes", _changes(self.changes))

    def __hash__(self) -> int:
        return hash((self.at, self.source, tuple(self.changes.items()), self.note))

    @classmethod
    def between(
        cls,
        before: ValueProfile,
        after: ValueProfile,
        *,
        source: ChangeSource,
        note: str = "",
        at: datetime | None = None,
    ) -> ProfileChange:
        """The change that turns ``before`` into ``after`` (``at`` defaults to now)."""
        return cls(datetime.now(UTC) if at is None else at, source, before.diff(after), note)

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "source": self.source,
            "changes": {v: [old, new] for v, (old, new) in self.changes.items()},
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: object) -> ProfileChange:
        if not isinstance(data, Mapping):
            raise ProfileError(f"a stored change must be an object, not {type(data).__name__}")
        if set(data) != {"at", "source", "changes", "note"}:
            raise ProfileError(
                f"a stored change needs exactly at, source, changes, note; "
                f"got {', '.join(sorted(map(repr, data)))}"
            )
        at = data["at"]
        if not isinstance(at, str):
            raise ProfileError(f"change time must be an ISO 8601 string, got {at!r}")
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            raise ProfileError(f"change time is not ISO 8601: {at!r}") from None
        return cls(when, data["source"], data["changes"], data["note"])
