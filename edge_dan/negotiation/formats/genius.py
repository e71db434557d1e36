"""Strict loader of GENIUS XML negotiation domains and utility profiles.

Format, as read here (written from the files and from how GENIUS reads them, no code copied):

- a *domain* file has root ``<negotiation_template>`` holding a ``<utility_space>``, or is a bare
  ``<utility_space>`` without weights or evaluations; the ``<utility_space>`` holds one root
  ``<objective>``, which holds ``<issue>`` elements (possibly inside nested objectives);
- a discrete issue (``type``/``etype``/``vtype`` ``"discrete"``) lists ``<item value="...">``;
  an integer issue (``"integer"``) and a real issue (``"real"``) have ``lowerbound`` and
  ``upperbound``, as attributes of the ``<issue>`` or of a ``<range>`` child;
- a *profile* file has root ``<utility_space>``: the same issues, a discrete issue's items
  carrying an ``evaluation`` attribute on the profile's own scale (for example 0-100 or 1-5), an
  integer or real issue holding one ``<evaluator ftype="linear">`` with ``offset`` and ``slope``
  (or ``parameter0`` = offset and ``parameter1`` = slope) or ``ftype="constant"`` with
  ``parameter0``; a ``<weight index=".." value=".."/>`` per issue (``index`` refers to the issue's
  ``index``; a nested ``<objective>`` may carry a weight too), optionally
  ``<reservation value=".."/>`` and ``<discount_factor value=".."/>``.

Semantics, as GENIUS computes them (DESIGN's GENIUS gotcha): each discrete issue's evaluations
are divided by their maximum; a linear evaluator gives ``offset + slope * (v - lowerbound)`` on an
integer issue and ``offset + slope * x`` on a real one, clipped to ``[0, 1]`` and not rescaled;
the issues' weights are scaled to sum to 1 (weights of nested objectives are checked and, as in
GENIUS's utility, unused: nesting only groups issues); the reservation value is already on the
normalised 0-1 scale (a missing reservation means 0); a discount factor of 0 means "no discount"
(GENIUS's reading) and loads as ``None``. The discount factor is kept on the profile and unused.
A real issue becomes a grid of decimal points
(:func:`~edge_dan.negotiation.domain.outcomes.real_issue`, whose docstring says why):
``real_points`` of them, both bounds included.

Safety: files are read as bytes, limited in size, and refused if they contain a document type
declaration or entity declaration (``<!DOCTYPE``, ``<!ENTITY``) or a UTF-16/32 byte order mark
(which would hide such declarations from the byte check), and refused if their XML declaration
names an encoding other than UTF-8, ASCII, ISO-8859-1/15 or windows-1252 (UTF-7 or EBCDIC could
spell the declarations in other bytes); only then does ElementTree parse them.
Every problem raises :class:`~edge_dan.negotiation.formats.errors.GeniusFormatError` naming the
file.

Limits: evaluator kinds other than linear and constant (GENIUS's triangular ones) are refused;
an integer issue with an evaluator may span at most :data:`MAX_TABLE_VALUES` values.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.domain.outcomes import (
    DEFAULT_MAX_CARDINALITY,
    REAL_ISSUE_POINTS,
    DiscreteIssue,
    IntegerIssue,
    Issue,
    OutcomeSpace,
    Value,
    real_issue,
)
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility, Profile
from edge_dan.negotiation.formats.errors import GeniusFormatError
from edge_dan.negotiation.formats.scenario import GeniusScenario

__all__ = ["GeniusScenario", "load_domain", "load_profile", "load_scenario"]

MAX_FILE_BYTES = 16 * 1024 * 1024
"""Largest XML file the loader reads."""

MAX_TABLE_VALUES = 100_000
"""Most values of an integer issue whose evaluator the loader tabulates."""

_FORBIDDEN = (b"<!doctype", b"<!entity")
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_DECLARED_ENCODING = re.compile(
    rb"""\A(?:\xef\xbb\xbf)?<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']"""
)
# Encodings in which every ASCII character is the same single byte, so the byte check for
# DTDs above sees what the parser will see. UTF-7 or EBCDIC could spell "<!DOCTYPE" otherwise.
_ALLOWED_ENCODINGS = frozenset(
    {"utf-8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "iso-8859-15"}
    | {"windows-1252", "cp1252"}
)


def _read_root(path: Path) -> ET.Element:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise GeniusFormatError(path, f"file is {size} bytes, above {MAX_FILE_BYTES}")
        data = path.read_bytes()
    except OSError as error:
        raise GeniusFormatError(path, f"cannot read: {error.strerror or error}") from error
    if data.startswith(_WIDE_BOMS) or b"\x00" in data:
        raise GeniusFormatError(path, "not UTF-8/ASCII XML (wide encoding or NUL bytes)")
    declared = _DECLARED_ENCODING.match(data)
    if declared is not None:
        encoding = declared.group(1).decode("ascii", "replace")
        if encoding.strip().lower() not in _ALLOWED_ENCODINGS:
            raise GeniusFormatError(
                path,
                f"declares encoding {encoding!r}; only UTF-8, ASCII, ISO-8859-1/15 and "
                "windows-1252 are accepted",
            )
    lowered = data.lower()
    for marker in _FORBIDDEN:
        if marker in lowered:
            raise GeniusFormatError(
                path,
                f"refused: contains {marker.decode().upper()!s} (DTDs and entities "
                "are not allowed in negotiation files)",
            )
    try:
        parser = ET.XMLParser()  # noqa: S314 - DTDs and entities were refused above
        parser.feed(data)
        return parser.close()
    except ET.ParseError as error:
        raise GeniusFormatError(path, f"malformed XML: {error}") from error
    except (ValueError, LookupError) as error:  # pyexpat's encoding errors, whatever slipped by
        raise GeniusFormatError(path, f"unreadable XML encoding: {error}") from error


def _utility_space(path: Path, root: ET.Element) -> ET.Element:
    if root.tag == "utility_space":
        return root
    if root.tag == "negotiation_template":
        found = root.findall("utility_space")
        if len(found) == 1:
            return found[0]
        raise GeniusFormatError(
            path, f"<negotiation_template> must hold one <utility_space>, found {len(found)}"
        )
    raise GeniusFormatError(
        path, f"root element is <{root.tag}>, expected <negotiation_template> or <utility_space>"
    )


def _objective(path: Path, space: ET.Element) -> ET.Element:
    found = space.findall("objective")
    if len(found) != 1:
        raise GeniusFormatError(
            path, f"<utility_space> must hold one <objective>, found {len(found)}"
        )
    return found[0]


def _number(path: Path, text: str | None, what: str) -> float:
    if text is None:
        raise GeniusFormatError(path, f"{what} is missing")
    try:
        value = float(text)
    except ValueError:
        raise GeniusFormatError(path, f"{what} is not a number: {text!r}") from None
    if not math.isfinite(value):
        raise GeniusFormatError(path, f"{what} is not finite: {text!r}")
    return value


def _integer(path: Path, text: str | None, what: str) -> int:
    if text is None:
        raise GeniusFormatError(path, f"{what} is missing")
    try:
        return int(text.strip())
    except ValueError:
        raise GeniusFormatError(path, f"{what} is not an integer: {text!r}") from None


def _kind(path: Path, issue: ET.Element, name: str) -> str:
    kinds = {issue.get(a, "").strip().lower() for a in ("type", "etype", "vtype")} - {""}
    if not kinds:
        kinds = {"discrete"} if issue.find("item") is not None else set()
    if len(kinds) != 1:
        raise GeniusFormatError(path, f"issue {name!r}: unclear or missing type {sorted(kinds)}")
    kind = kinds.pop()
    if kind not in {"discrete", "integer", "real"}:
        raise GeniusFormatError(
            path, f"issue {name!r}: type {kind!r} is not supported (discrete, integer, real are)"
        )
    return kind


@dataclass(frozen=True)
class _RawIssue:
    index: int
    issue: Issue
    evaluations: dict[Value, float] | None  # None when no item carries an evaluation
    as_given: bool = False  # a linear evaluator's numbers: GENIUS does not rescale them


def _read_discrete(path: Path, element: ET.Element, name: str, index: int) -> _RawIssue:
    values: list[str] = []
    evaluations: dict[Value, float] = {}
    for item in element.findall("item"):
        value = item.get("value")
        if value is None:
            raise GeniusFormatError(path, f"issue {name!r}: an <item> has no value")
        if value in evaluations or value in values:
            raise GeniusFormatError(path, f"issue {name!r}: value {value!r} appears twice")
        values.append(value)
        text = item.get("evaluation")
        if text is not None:
            score = _number(path, text, f"evaluation of {name!r}={value!r}")
            if score < 0:
                raise GeniusFormatError(
                    path, f"evaluation of {name!r}={value!r} is negative ({text})"
                )
            evaluations[value] = score
    if not values:
        raise GeniusFormatError(path, f"issue {name!r} has no <item> values")
    if evaluations and len(evaluations) != len(values):
        missing = [v for v in values if v not in evaluations]
        raise GeniusFormatError(path, f"issue {name!r}: values {missing!r} lack an evaluation")
    return _RawIssue(index, DiscreteIssue(name, tuple(values)), evaluations or None)


def _bound_texts(path: Path, element: ET.Element, name: str) -> tuple[str | None, str | None]:
    if element.get("lowerbound") is not None or element.get("upperbound") is not None:
        return element.get("lowerbound"), element.get("upperbound")
    ranges = element.findall("range")
    if len(ranges) != 1:
        raise GeniusFormatError(
            path, f"issue {name!r}: needs lowerbound and upperbound (attributes or one <range>)"
        )
    return ranges[0].get("lowerbound"), ranges[0].get("upperbound")


def _decimal(path: Path, text: str | None, what: str) -> Decimal:
    if text is None:
        raise GeniusFormatError(path, f"{what} is missing")
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise GeniusFormatError(path, f"{what} is not a number: {text!r}") from None
    if not number.is_finite():
        raise GeniusFormatError(path, f"{what} is not finite: {text!r}")
    return number


def _linear_parameters(path: Path, element: ET.Element, name: str) -> tuple[float, float] | None:
    """``(offset, slope)`` of the issue's evaluator, ``None`` without one."""
    evaluators = element.findall("evaluator")
    if not evaluators:
        return None
    if len(evaluators) > 1:
        raise GeniusFormatError(path, f"issue {name!r} has {len(evaluators)} <evaluator>s")
    evaluator = evaluators[0]
    ftype = (evaluator.get("ftype") or "").strip().lower()
    what = f"evaluator of issue {name!r}"
    if ftype == "constant":
        text = evaluator.get("parameter0", evaluator.get("offset"))
        return _number(path, text, f"{what}: constant"), 0.0
    if ftype != "linear":
        raise GeniusFormatError(
            path, f"{what}: ftype {ftype!r} is not supported (linear and constant are)"
        )
    offset = _number(path, evaluator.get("offset", evaluator.get("parameter0")), f"{what}: offset")
    slope = _number(path, evaluator.get("slope", evaluator.get("parameter1")), f"{what}: slope")
    return offset, slope


def _clipped(path: Path, score: float, name: str) -> float:
    if not math.isfinite(score):  # huge offset and slope can overflow
        raise GeniusFormatError(path, f"evaluator of issue {name!r} gives a non-finite utility")
    return min(max(score, 0.0), 1.0)


def _read_integer(path: Path, element: ET.Element, name: str, index: int) -> _RawIssue:
    low_text, high_text = _bound_texts(path, element, name)
    low = _integer(path, low_text, f"lowerbound of issue {name!r}")
    high = _integer(path, high_text, f"upperbound of issue {name!r}")
    if low > high:
        raise GeniusFormatError(path, f"issue {name!r}: lowerbound {low} > upperbound {high}")
    issue = IntegerIssue(name, low, high)
    parameters = _linear_parameters(path, element, name)
    if parameters is None:
        return _RawIssue(index, issue, None)
    if issue.cardinality > MAX_TABLE_VALUES:
        raise GeniusFormatError(
            path, f"issue {name!r}: {issue.cardinality} values, above {MAX_TABLE_VALUES}"
        )
    offset, slope = parameters
    table: dict[Value, float] = {
        v: _clipped(path, offset + slope * (v - low), name) for v in range(low, high + 1)
    }
    return _RawIssue(index, issue, table, as_given=True)


def _read_real(path: Path, element: ET.Element, name: str, index: int, points: int) -> _RawIssue:
    low_text, high_text = _bound_texts(path, element, name)
    low = _decimal(path, low_text, f"lowerbound of issue {name!r}")
    high = _decimal(path, high_text, f"upperbound of issue {name!r}")
    try:
        issue = real_issue(name, low, high, points=points)
    except NegotiationError as error:
        raise GeniusFormatError(path, str(error)) from None
    parameters = _linear_parameters(path, element, name)
    if parameters is None:
        return _RawIssue(index, issue, None)
    offset, slope = parameters
    table: dict[Value, float] = {
        label: _clipped(path, offset + slope * float(label), name) for label in issue.values
    }
    return _RawIssue(index, issue, table, as_given=True)


def _objective_indices(path: Path, objective: ET.Element) -> set[int]:
    indices: set[int] = set()
    for element in objective.iter("objective"):
        text = element.get("index")
        if text is None:
            continue
        index = _integer(path, text, f"index of objective {element.get('name')!r}")
        if index in indices:
            raise GeniusFormatError(path, f"objective index {index} appears twice")
        indices.add(index)
    return indices


def _read_issues(
    path: Path, objective: ET.Element, real_points: int = REAL_ISSUE_POINTS
) -> list[_RawIssue]:
    raw: list[_RawIssue] = []
    names: set[str] = set()
    indices = _objective_indices(path, objective)
    for element in objective.iter("issue"):
        name = element.get("name")
        if not name:
            raise GeniusFormatError(path, "an <issue> has no name")
        if name in names:
            raise GeniusFormatError(path, f"issue {name!r} appears twice")
        names.add(name)
        index = _integer(path, element.get("index"), f"index of issue {name!r}")
        if index in indices:
            raise GeniusFormatError(path, f"issue index {index} appears twice")
        indices.add(index)
        kind = _kind(path, element, name)
        if kind != "discrete" and element.find("item") is not None:
            raise GeniusFormatError(path, f"{kind} issue {name!r} lists <item>s")
        if kind == "integer":
            raw.append(_read_integer(path, element, name, index))
        elif kind == "real":
            raw.append(_read_real(path, element, name, index, real_points))
        else:
            raw.append(_read_discrete(path, element, name, index))
    if not raw:
        raise GeniusFormatError(path, "no <issue> elements")
    return raw


def _single_value(path: Path, space: ET.Element, tag: str) -> float | None:
    found = space.findall(f".//{tag}")
    if not found:
        return None
    if len(found) > 1:
        raise GeniusFormatError(path, f"<{tag}> appears {len(found)} times")
    return _number(path, found[0].get("value"), f"<{tag}> value")


def _is_profile(space: ET.Element) -> bool:
    return (
        space.find(".//weight") is not None
        or space.find(".//evaluator") is not None
        or any(item.get("evaluation") is not None for item in space.iter("item"))
    )


def load_domain(
    path: str | Path,
    *,
    max_cardinality: int = DEFAULT_MAX_CARDINALITY,
    real_points: int = REAL_ISSUE_POINTS,
) -> OutcomeSpace:
    """The outcome space of a GENIUS domain file (or of the issues a profile file lists)."""
    path = Path(path)
    space = _utility_space(path, _read_root(path))
    issues = _read_issues(path, _objective(path, space), real_points)
    try:
        return OutcomeSpace(
            [raw.issue for raw in issues], name=path.stem, max_cardinality=max_cardinality
        )
    except NegotiationError as error:
        raise GeniusFormatError(path, str(error)) from None


def _read_weights(
    path: Path, objective: ET.Element, raw_issues: list[_RawIssue]
) -> dict[str, float]:
    by_index = {raw.index: raw.issue.name for raw in raw_issues}
    objectives = _objective_indices(path, objective)
    weighted_objectives: set[int] = set()
    weights: dict[str, float] = {}
    for element in objective.iter("weight"):
        index = _integer(path, element.get("index"), "index of a <weight>")
        if index in objectives:
            # A nested objective's weight: checked, and unused, as in GENIUS's utility.
            if index in weighted_objectives:
                raise GeniusFormatError(path, f"objective {index} has two weights")
            weighted_objectives.add(index)
            weight = _number(path, element.get("value"), f"weight of objective {index}")
            if weight < 0:
                raise GeniusFormatError(path, f"weight of objective {index} is negative")
            continue
        if index not in by_index:
            raise GeniusFormatError(path, f"<weight index={index}> names no issue")
        name = by_index[index]
        if name in weights:
            raise GeniusFormatError(path, f"issue {name!r} has two weights")
        weight = _number(path, element.get("value"), f"weight of issue {name!r}")
        if weight < 0:
            raise GeniusFormatError(path, f"weight of issue {name!r} is negative ({weight})")
        weights[name] = weight
    missing = [raw.issue.name for raw in raw_issues if raw.issue.name not in weights]
    if missing:
        raise GeniusFormatError(path, f"issues {missing!r} have no <weight>")
    if sum(weights.values()) <= 0:
        raise GeniusFormatError(path, "all weights are 0")
    return weights


def load_profile(
    path: str | Path, space: OutcomeSpace | None = None, *, real_points: int = REAL_ISSUE_POINTS
) -> Profile:
    """A linear additive :class:`Profile` from a GENIUS utility file.

    With ``space`` (the loaded domain), the profile must name exactly the domain's issues and
    values, in any order; without it, the space is built from the profile's own issues.
    ``real_points`` must be the domain's (both grid a real issue the same way).
    """
    path = Path(path)
    try:
        return _load_profile(path, space, real_points)
    except GeniusFormatError:
        raise
    except NegotiationError as error:  # the domain layer's own checks, with the file named
        raise GeniusFormatError(path, str(error)) from None


def _load_profile(path: Path, space: OutcomeSpace | None, real_points: int) -> Profile:
    xml_space = _utility_space(path, _read_root(path))
    objective = _objective(path, xml_space)
    raw_issues = _read_issues(path, objective, real_points)
    for raw in raw_issues:
        if raw.evaluations is None:
            raise GeniusFormatError(path, f"issue {raw.issue.name!r} has no evaluations")
    if space is None:
        space = OutcomeSpace([raw.issue for raw in raw_issues], name=path.stem)
    else:
        _match_domain(path, space, raw_issues)

    weights = _read_weights(path, objective, raw_issues)

    reservation = _single_value(path, xml_space, "reservation")
    if reservation is None:
        reservation = 0.0
    if not 0.0 <= reservation <= 1.0:
        raise GeniusFormatError(
            path, f"reservation value {reservation} is outside the normalised 0-1 scale"
        )
    discount = _single_value(path, xml_space, "discount_factor")
    if discount is not None and not 0.0 <= discount <= 1.0:
        raise GeniusFormatError(path, f"discount factor {discount} is outside [0, 1]")
    if discount == 0.0:
        discount = None  # GENIUS reads a discount factor of 0 as "no discount"

    evaluations = {raw.issue.name: raw.evaluations or {} for raw in raw_issues}
    as_given = {raw.issue.name for raw in raw_issues if raw.as_given}
    utility = LinearAdditiveUtility(space, weights, evaluations, as_given=as_given)
    return Profile(
        space=space,
        utility=utility,
        reservation_value=reservation,
        discount_factor=discount,
        name=path.stem,
    )


def _match_domain(path: Path, space: OutcomeSpace, raw_issues: list[_RawIssue]) -> None:
    names = {raw.issue.name for raw in raw_issues}
    missing = [n for n in space.issue_names if n not in names]
    unknown = sorted(names - set(space.issue_names))
    if missing or unknown:
        raise GeniusFormatError(
            path, f"issues do not match the domain: missing {missing!r}, unknown {unknown!r}"
        )
    for raw in raw_issues:
        domain_issue = space.issue(raw.issue.name)
        if type(domain_issue) is not type(raw.issue):
            raise GeniusFormatError(
                path, f"issue {raw.issue.name!r} has another type than in the domain"
            )
        if isinstance(domain_issue, IntegerIssue) and isinstance(raw.issue, IntegerIssue):
            # Compared by bounds: listing a (lazily held) billion-value range would not end.
            if domain_issue != raw.issue:
                raise GeniusFormatError(
                    path,
                    f"issue {raw.issue.name!r}: range {raw.issue.low}..{raw.issue.high}, the "
                    f"domain's {domain_issue.low}..{domain_issue.high}",
                )
            continue
        domain_values = set(domain_issue.all_values())
        profile_values = set(raw.issue.all_values())
        unknown_values = [v for v in raw.issue.all_values() if v not in domain_values]
        if unknown_values:
            raise GeniusFormatError(
                path,
                f"issue {raw.issue.name!r}: values {unknown_values!r} are not in the domain",
            )
        absent = [v for v in domain_issue.all_values() if v not in profile_values]
        if absent:
            raise GeniusFormatError(
                path, f"issue {raw.issue.name!r}: domain values {absent!r} have no evaluation"
            )


def load_scenario(
    directory: str | Path,
    *,
    max_cardinality: int = DEFAULT_MAX_CARDINALITY,
    real_points: int = REAL_ISSUE_POINTS,
) -> GeniusScenario:
    """Load a folder: one domain file (see module doc); every other ``*.xml`` is a profile."""
    directory = Path(directory)
    files = sorted(directory.glob("*.xml"))
    if not files:
        raise GeniusFormatError(directory, "no .xml files")
    domains: list[Path] = []
    profiles: list[Path] = []
    for file in files:
        element = _utility_space(file, _read_root(file))
        (profiles if _is_profile(element) else domains).append(file)
    if len(domains) != 1:
        raise GeniusFormatError(
            directory, f"expected one domain file, found {[p.name for p in domains]!r}"
        )
    space = load_domain(domains[0], max_cardinality=max_cardinality, real_points=real_points)
    loaded = {file.name: load_profile(file, space, real_points=real_points) for file in profiles}
    return GeniusScenario(
        name=directory.name,
        space=space,
        domain_path=domains[0],
        profiles=loaded,
        profile_paths={file.name: file for file in profiles},
    )
