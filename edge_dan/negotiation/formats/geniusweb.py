"""Strict loader of GeniusWeb JSON domains and linear additive profiles.

Format, as read here (written from GeniusWeb's published examples and documented checks, no code
copied):

- a *domain* is ``{"name": str, "issuesValues": {issue: {"values": [str, ...]}}}``; an issue
  may instead hold a number range ``{"range": {"low": n, "high": n, "incr": n}}`` (GeniusWeb's
  ``NumberValueSet``: ``low, low + incr, ...`` up to ``high``; ``"step"`` is read as a synonym of
  ``"incr"``, as earlier versions of this loader wrote it);
- a *profile* is ``{"LinearAdditiveUtilitySpace": {...}}`` holding ``"name"``, the whole
  ``"domain"``, ``"issueUtilities"`` mapping each issue to
  ``{"DiscreteValueSetUtilities": {"valueUtilities": {value: utility}}}`` or, for a number
  range, ``{"NumberValueSetUtilities": {"lowValue", "lowUtility", "highValue", "highUtility"}}``
  (the utility interpolated linearly between the range's ends, which ``lowValue`` and
  ``highValue`` must be), ``"issueWeights"`` mapping each issue to a weight, and
  ``"reservationBid"``: ``null`` or ``{"issuevalues": {issue: value}}`` (a number for a range);
- a *scenario folder* (:func:`load_scenario`) holds one domain file and profile files
  (``profileA.json``, ``profileB.json``, ...), every file ``*.json``.

Semantics: GeniusWeb utilities are used as they are (no rescaling): every value utility and
weight lies in ``[0, 1]`` and the weights must sum to 1 within :data:`WEIGHT_TOLERANCE`. The
reservation value is the utility of the reservation bid (0 without one). A range of integers
with ``incr`` 1 loads as an :class:`~edge_dan.negotiation.domain.outcomes.IntegerIssue`; any
other range as the grid of its points
(:func:`~edge_dan.negotiation.domain.outcomes.real_issue`, values such as ``"0.05"``).

Strictness: files are limited in size and must be UTF-8 JSON; duplicate keys, ``NaN`` or
``Infinity``, unknown or missing keys, values outside the domain, and a profile whose embedded
domain differs from the one given are refused with
:class:`~edge_dan.negotiation.formats.errors.GeniusFormatError` naming the file and the place.
A fractional range may hold at most
:data:`~edge_dan.negotiation.domain.outcomes.MAX_GRID_POINTS` points; utilities are tabulated
for at most :data:`MAX_TABLE_VALUES` values of a range.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.domain.outcomes import (
    DEFAULT_MAX_CARDINALITY,
    MAX_EXPONENT,
    DiscreteIssue,
    IntegerIssue,
    Issue,
    OutcomeSpace,
    Value,
    number_label,
    real_issue,
)
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility, Profile
from edge_dan.negotiation.formats.errors import GeniusFormatError
from edge_dan.negotiation.formats.scenario import GeniusScenario

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_TABLE_VALUES = 100_000
"""Most values of a number range whose ``NumberValueSetUtilities`` the loader tabulates."""
WEIGHT_TOLERANCE = 1e-6
"""How far from 1 a profile's ``issueWeights`` may sum (GeniusWeb files print ~7 digits)."""


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
    except RecursionError:  # the decoder recurses once per nested array or object
        raise GeniusFormatError(path, "malformed JSON: nested too deeply") from None


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
    if isinstance(value, int) and not 0 <= value <= 1:  # before float(): 10**400 overflows it
        raise GeniusFormatError(path, f"{where}: an integer outside 0..1")
    number = float(value)
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise GeniusFormatError(path, f"{where}: {number} is outside 0..1")
    return number


def _finite_number(path: Path, value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GeniusFormatError(path, f"{where}: expected a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise GeniusFormatError(path, f"{where}: {value} is not finite")
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


Bounds = tuple[Decimal, Decimal]
"""A number range's declared ``low`` and ``high``."""


def _range_issue(path: Path, name: str, value: Any, where: str) -> tuple[Issue, Bounds]:
    body = _object(path, value, where, {"range"})
    bounds = body["range"]
    increment_key = "step" if isinstance(bounds, dict) and "step" in bounds else "incr"
    bounds = _object(path, bounds, f"{where}.range", {"low", "high", increment_key})
    low = _finite_number(path, bounds["low"], f"{where}.range.low")
    high = _finite_number(path, bounds["high"], f"{where}.range.high")
    step = _finite_number(path, bounds[increment_key], f"{where}.range.{increment_key}")
    if step <= 0 or low > high:
        raise GeniusFormatError(path, f"{where}: need {increment_key} > 0 and low <= high")
    if step == 1 and low == low.to_integral_value() and high == high.to_integral_value():
        if max(abs(low), abs(high)).adjusted() > MAX_EXPONENT:
            raise GeniusFormatError(path, f"{where}: bounds beyond 1e{MAX_EXPONENT}")
        return IntegerIssue(name, int(low), int(high)), (low, high)  # held lazily, any width
    try:
        return real_issue(name, low, high, step=step), (low, high)
    except NegotiationError as error:
        raise GeniusFormatError(path, f"{where}: {error}") from None


def _issue(path: Path, name: str, value: Any) -> tuple[Issue, Bounds | None]:
    where = f"issuesValues[{name!r}]"
    if isinstance(value, dict) and "range" in value:
        return _range_issue(path, name, value, where)
    body = _object(path, value, where, {"values"})
    values = body["values"]
    if not isinstance(values, list) or not values:
        raise GeniusFormatError(path, f"{where}.values: expected a non-empty list")
    if any(not isinstance(v, str) for v in values):
        raise GeniusFormatError(path, f"{where}.values: only text values are supported")
    if len(set(values)) != len(values):
        raise GeniusFormatError(path, f"{where}.values: a value appears twice")
    try:
        return DiscreteIssue(name, tuple(values)), None
    except NegotiationError as error:
        raise GeniusFormatError(path, f"{where}: {error}") from None


def _space(path: Path, value: Any, max_cardinality: int) -> tuple[OutcomeSpace, dict[str, Bounds]]:
    """The domain's outcome space and the declared bounds of its number-range issues."""
    domain = _object(path, value, "domain", {"name", "issuesValues"})
    name, issues = domain["name"], domain["issuesValues"]
    if not isinstance(name, str) or not name:
        raise GeniusFormatError(path, "domain.name: expected a non-empty string")
    if not isinstance(issues, dict) or not issues:
        raise GeniusFormatError(path, "domain.issuesValues: expected a non-empty object")
    loaded = {issue: _issue(path, issue, body) for issue, body in issues.items()}
    ranges = {issue: bounds for issue, (_, bounds) in loaded.items() if bounds is not None}
    try:
        space = OutcomeSpace(
            [issue for issue, _ in loaded.values()], name=name, max_cardinality=max_cardinality
        )
    except GeniusFormatError:
        raise
    except NegotiationError as error:
        raise GeniusFormatError(path, f"domain: {error}") from None
    return space, ranges


def load_domain(
    path: str | Path, *, max_cardinality: int = DEFAULT_MAX_CARDINALITY
) -> OutcomeSpace:
    """The outcome space of a GeniusWeb domain file."""
    path = Path(path)
    return _space(path, _read_json(path), max_cardinality)[0]


def _number_utilities(
    path: Path, issue: Issue, body: Any, where: str, bounds: Bounds
) -> dict[Value, float]:
    keys = {"lowValue", "lowUtility", "highValue", "highUtility"}
    inner = _object(path, body, f"{where}.NumberValueSetUtilities", keys)
    low_value = _finite_number(path, inner["lowValue"], f"{where}.lowValue")
    high_value = _finite_number(path, inner["highValue"], f"{where}.highValue")
    low_utility = _unit_number(path, inner["lowUtility"], f"{where}.lowUtility")
    high_utility = _unit_number(path, inner["highUtility"], f"{where}.highUtility")
    if high_value <= low_value:
        raise GeniusFormatError(path, f"{where}: highValue must be above lowValue")
    if (low_value, high_value) != bounds:  # GeniusWeb's own check: they span the range
        raise GeniusFormatError(
            path,
            f"{where}: lowValue..highValue {low_value}..{high_value} is not the range "
            f"{bounds[0]}..{bounds[1]}",
        )
    if issue.cardinality > MAX_TABLE_VALUES:
        raise GeniusFormatError(
            path, f"{where}: {issue.cardinality} values to tabulate, above {MAX_TABLE_VALUES}"
        )
    values = issue.all_values()
    span = float(high_value - low_value)
    return {
        v: min(
            1.0,
            max(
                0.0,
                low_utility + (high_utility - low_utility) * float(Decimal(v) - low_value) / span,
            ),
        )
        for v in values
    }


def _issue_utilities(
    path: Path, issue: Issue, body: Any, bounds: Bounds | None
) -> dict[Value, float]:
    where = f"issueUtilities[{issue.name!r}]"
    if bounds is not None:
        wrapper = _object(path, body, where, {"NumberValueSetUtilities"})
        return _number_utilities(path, issue, wrapper["NumberValueSetUtilities"], where, bounds)
    if isinstance(issue, IntegerIssue):  # only ranges make integer issues; typed for mypy
        raise GeniusFormatError(path, f"{where}: a number range needs NumberValueSetUtilities")
    wrapper = _object(path, body, where, {"DiscreteValueSetUtilities"})
    inner = _object(path, wrapper["DiscreteValueSetUtilities"], where, {"valueUtilities"})
    table = _object(path, inner["valueUtilities"], f"{where}.valueUtilities", set(issue.values))
    return {v: _unit_number(path, table[v], f"{where}[{v!r}]") for v in issue.values}


def _bid_value(path: Path, issue: Issue, value: Any, ranged: bool) -> Value:
    where = f"reservationBid.issuevalues[{issue.name!r}]"
    if isinstance(issue, IntegerIssue):
        if isinstance(value, float) and value.is_integer():
            return int(value)  # 2.0: the same number
        if isinstance(value, bool) or not isinstance(value, int):
            raise GeniusFormatError(path, f"{where}: expected an integer, got {value!r}")
        return value
    if ranged:
        return number_label(_finite_number(path, value, where))
    if not isinstance(value, str):
        raise GeniusFormatError(path, f"{where}: expected a value name, got {value!r}")
    return value


def load_profile(
    path: str | Path,
    space: OutcomeSpace | None = None,
    *,
    max_cardinality: int = DEFAULT_MAX_CARDINALITY,
) -> Profile:
    """A GeniusWeb linear additive profile; ``space`` (if given) must equal its domain."""
    path = Path(path)
    try:
        return _load_profile(path, space, max_cardinality)
    except GeniusFormatError:
        raise
    except NegotiationError as error:  # the domain layer's own checks, with the file named
        raise GeniusFormatError(path, str(error)) from None


def _load_profile(path: Path, space: OutcomeSpace | None, max_cardinality: int) -> Profile:
    root = _object(path, _read_json(path), "profile", {"LinearAdditiveUtilitySpace"})
    body = _object(
        path,
        root["LinearAdditiveUtilitySpace"],
        "LinearAdditiveUtilitySpace",
        {"domain", "name", "issueUtilities", "issueWeights"},
        frozenset({"reservationBid"}),
    )
    embedded, ranges = _space(path, body["domain"], max_cardinality)
    if space is not None and space != embedded:
        raise GeniusFormatError(path, "the profile's domain differs from the given domain")
    space = space or embedded
    names = set(space.issue_names)
    utilities = _object(path, body["issueUtilities"], "issueUtilities", names)
    weights_given = _object(path, body["issueWeights"], "issueWeights", names)
    weights = {n: _unit_number(path, weights_given[n], f"issueWeights[{n!r}]") for n in names}
    total = math.fsum(weights.values())
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise GeniusFormatError(path, f"issueWeights sum to {total:.6f}, not 1")
    evaluations = {
        issue.name: _issue_utilities(path, issue, utilities[issue.name], ranges.get(issue.name))
        for issue in space.issues
    }
    utility = LinearAdditiveUtility(space, weights, evaluations, as_given=space.issue_names)
    reservation = 0.0
    bid = body.get("reservationBid")
    if bid is not None:
        values = _object(path, bid, "reservationBid", {"issuevalues"})["issuevalues"]
        chosen = _object(path, values, "reservationBid.issuevalues", names)
        outcome = {
            i.name: _bid_value(path, i, chosen[i.name], i.name in ranges) for i in space.issues
        }
        try:
            reservation = float(utility(space.from_dict(outcome)))
        except NegotiationError as error:
            raise GeniusFormatError(path, f"reservationBid: {error}") from None
    name = body["name"]
    if not isinstance(name, str):
        raise GeniusFormatError(path, "name: expected a string")
    return Profile(space, utility, reservation_value=reservation, name=name)


def _kind_of(path: Path) -> str:
    """``"domain"`` or ``"profile"``: what a JSON file of a scenario folder holds."""
    data = _read_json(path)
    if isinstance(data, dict) and "issuesValues" in data:
        return "domain"
    if isinstance(data, dict) and "LinearAdditiveUtilitySpace" in data:
        return "profile"
    raise GeniusFormatError(path, "neither a GeniusWeb domain nor a LinearAdditiveUtilitySpace")


def load_scenario(
    directory: str | Path, *, max_cardinality: int = DEFAULT_MAX_CARDINALITY
) -> GeniusScenario:
    """Load a folder of ``*.json``: one domain file, every other file a profile."""
    directory = Path(directory)
    files = sorted(directory.glob("*.json"))
    if not files:
        raise GeniusFormatError(directory, "no .json files")
    kinds = {file: _kind_of(file) for file in files}
    domains = [file for file in files if kinds[file] == "domain"]
    profiles = [file for file in files if kinds[file] == "profile"]
    if len(domains) != 1:
        raise GeniusFormatError(
            directory, f"expected one domain file, found {[p.name for p in domains]!r}"
        )
    if not profiles:
        raise GeniusFormatError(directory, "no profile files")
    space = load_domain(domains[0], max_cardinality=max_cardinality)
    return GeniusScenario(
        name=directory.name,
        space=space,
        domain_path=domains[0],
        profiles={file.name: load_profile(file, space) for file in profiles},
        profile_paths={file.name: file for file in profiles},
    )
