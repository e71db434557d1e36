"""Strict loader of GeniusWeb JSON domains and linear additive profiles.

Format, as read here (written from GeniusWeb's published examples, not from its code):

- a *domain* is ``{"name": str, "issuesValues": {issue: {"values": [str, ...]}}}``; an issue
  may instead hold ``{"range": {"low": int, "high": int, "step": 1}}`` (an integer range);
- a *profile* is ``{"LinearAdditiveUtilitySpace": {...}}`` holding ``"name"``, the whole
  ``"domain"``, ``"issueUtilities"`` mapping each issue to
  ``{"DiscreteValueSetUtilities": {"valueUtilities": {value: utility}}}``, ``"issueWeights"``
  mapping each issue to a weight, and ``"reservationBid"``: ``null`` or
  ``{"issuevalues": {issue: value}}``.

Semantics: GeniusWeb utilities are used as they are (no rescaling): every value utility and
weight lies in ``[0, 1]`` and the weights must sum to 1. The reservation value is the utility of
the reservation bid (0 without one).

Strictness: files are limited in size and must be UTF-8 JSON; duplicate keys, ``NaN`` or
``Infinity``, unknown or missing keys, values outside the domain, and a profile whose embedded
domain differs from the one given are refused with
:class:`~edge_dan.negotiation.formats.errors.GeniusFormatError` naming the file and the place.
Integer-range issues load in domains; utilities over them (``NumberValueSetUtilities``) are
refused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.domain.outcomes import (
    DEFAULT_MAX_CARDINALITY,
    DiscreteIssue,
    IntegerIssue,
    Issue,
    OutcomeSpace,
)
from edge_dan.negotiation.domain.utility import (
    FloatArray,
    LinearAdditiveUtility,
    Profile,
    WeightedTables,
)
from edge_dan.negotiation.formats.errors import GeniusFormatError

MAX_FILE_BYTES = 16 * 1024 * 1024
WEIGHT_TOLERANCE = 1e-6


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _read_json(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise GeniusFormatError(path, f"file is {size} bytes, above {MAX_FILE_BYTES}")
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise GeniusFormatError(path, f"cannot read: {error.strerror or error}") from error
    except UnicodeDecodeError:
        raise GeniusFormatError(path, "not UTF-8 text") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except ValueError as error:
        raise GeniusFormatError(path, f"malformed JSON: {error}") from None


def _object(
    path: Path, value: Any, where: str, required: set[str], optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GeniusFormatError(path, f"{where}: expected an object")
    missing = sorted(required - value.keys())
    unknown = sorted(value.keys() - required - optional)
    if missing or unknown:
        raise GeniusFormatError(path, f"{where}: missing keys {missing}, unknown keys {unknown}")
    return value


def _unit_number(path: Path, value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GeniusFormatError(path, f"{where}: expected a number, got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise GeniusFormatError(path, f"{where}: {number} is outside 0..1")
    return number


def _issue(path: Path, name: str, value: Any) -> Issue:
    where = f"issuesValues[{name!r}]"
    if isinstance(value, dict) and "range" in value:
        body = _object(path, value, where, {"range"})
        bounds = _object(path, body["range"], f"{where}.range", {"low", "high", "step"})
        low, high, step = bounds["low"], bounds["high"], bounds["step"]
        if any(isinstance(b, bool) or not isinstance(b, int) for b in (low, high, step)):
            raise GeniusFormatError(path, f"{where}: only integer ranges are supported")
        if step != 1 or low > high:
            raise GeniusFormatError(path, f"{where}: need step 1 and low <= high")
        return IntegerIssue(name, low, high)
    body = _object(path, value, where, {"values"})
    values = body["values"]
    if not isinstance(values, list) or not values:
        raise GeniusFormatError(path, f"{where}.values: expected a non-empty list")
    if any(not isinstance(v, str) for v in values):
        raise GeniusFormatError(path, f"{where}.values: only text values are supported")
    if len(set(values)) != len(values):
        raise GeniusFormatError(path, f"{where}.values: a value appears twice")
    return DiscreteIssue(name, tuple(values))


def _space(path: Path, value: Any, max_cardinality: int) -> OutcomeSpace:
    domain = _object(path, value, "domain", {"name", "issuesValues"})
    name, issues = domain["name"], domain["issuesValues"]
    if not isinstance(name, str) or not name:
        raise GeniusFormatError(path, "domain.name: expected a non-empty string")
    if not isinstance(issues, dict) or not issues:
        raise GeniusFormatError(path, "domain.issuesValues: expected a non-empty object")
    return OutcomeSpace(
        [_issue(path, issue, body) for issue, body in issues.items()],
        name=name,
        max_cardinality=max_cardinality,
    )


def load_domain(
    path: str | Path, *, max_cardinality: int = DEFAULT_MAX_CARDINALITY
) -> OutcomeSpace:
    """The outcome space of a GeniusWeb domain file."""
    path = Path(path)
    return _space(path, _read_json(path), max_cardinality)


def load_profile(
    path: str | Path,
    space: OutcomeSpace | None = None,
    *,
    max_cardinality: int = DEFAULT_MAX_CARDINALITY,
) -> Profile:
    """A GeniusWeb linear additive profile; ``space`` (if given) must equal its domain."""
    path = Path(path)
    root = _object(path, _read_json(path), "profile", {"LinearAdditiveUtilitySpace"})
    body = _object(
        path,
        root["LinearAdditiveUtilitySpace"],
        "LinearAdditiveUtilitySpace",
        {"domain", "name", "issueUtilities", "issueWeights"},
        frozenset({"reservationBid"}),
    )
    embedded = _space(path, body["domain"], max_cardinality)
    if space is not None and space != embedded:
        raise GeniusFormatError(path, "the profile's domain differs from the given domain")
    space = space or embedded
    names = set(space.issue_names)
    utilities = _object(path, body["issueUtilities"], "issueUtilities", names)
    weights_given = _object(path, body["issueWeights"], "issueWeights", names)
    weights = np.array(
        [_unit_number(path, weights_given[n], f"issueWeights[{n!r}]") for n in space.issue_names]
    )
    if abs(float(weights.sum()) - 1.0) > WEIGHT_TOLERANCE:
        raise GeniusFormatError(path, f"issueWeights sum to {weights.sum():.6f}, not 1")
    tables: list[FloatArray] = []
    for issue in space.issues:
        where = f"issueUtilities[{issue.name!r}]"
        if isinstance(issue, IntegerIssue):
            raise GeniusFormatError(path, f"{where}: utilities of number ranges are not supported")
        wrapper = _object(path, utilities[issue.name], where, {"DiscreteValueSetUtilities"})
        inner = _object(path, wrapper["DiscreteValueSetUtilities"], where, {"valueUtilities"})
        table = _object(path, inner["valueUtilities"], f"{where}.valueUtilities", set(issue.values))
        tables.append(
            np.array(
                [_unit_number(path, table[v], f"{where}[{v!r}]") for v in issue.values],
                dtype=np.float64,
            )
        )
    utility: WeightedTables
    if all(float(t.max()) == 1.0 for t in tables):
        # Same numbers as the exact form (each issue already peaks at 1), with the fast path.
        utility = LinearAdditiveUtility(
            space,
            dict(zip(space.issue_names, weights.tolist(), strict=True)),
            {
                issue.name: dict(zip(issue.values, table.tolist(), strict=True))
                for issue, table in zip(space.issues, tables, strict=True)
            },
        )
    else:
        utility = WeightedTables(space, weights, tables)
    reservation = 0.0
    bid = body.get("reservationBid")
    if bid is not None:
        values = _object(path, bid, "reservationBid", {"issuevalues"})["issuevalues"]
        if not isinstance(values, Mapping) or not all(
            isinstance(v, str | int) and not isinstance(v, bool) for v in values.values()
        ):
            raise GeniusFormatError(path, "reservationBid.issuevalues: expected issue: value")
        try:
            reservation = float(utility(space.from_dict(dict(values))))
        except NegotiationError as error:
            raise GeniusFormatError(path, f"reservationBid: {error}") from None
    name = body["name"]
    if not isinstance(name, str):
        raise GeniusFormatError(path, "name: expected a string")
    return Profile(space, utility, reservation_value=reservation, name=name)
