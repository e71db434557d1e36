"""Strict loader of GENIUS XML negotiation domains and utility profiles.

Format, as read here (written from the files, not from any other loader):

- a *domain* file has root ``<negotiation_template>`` holding a ``<utility_space>``, or is a bare
  ``<utility_space>`` without weights or evaluations; the ``<utility_space>`` holds one root
  ``<objective>``, which holds ``<issue>`` elements (possibly inside nested objectives);
- a discrete issue (``type``/``etype``/``vtype`` ``"discrete"``) lists ``<item value="...">``;
  an integer issue (``"integer"``) has ``lowerbound`` and ``upperbound`` attributes;
- a *profile* file has root ``<utility_space>``: the same issues whose items carry an
  ``evaluation`` attribute on the profile's own scale (for example 0-100 or 1-5), a
  ``<weight index=".." value=".."/>`` per issue (``index`` refers to the issue's ``index``),
  optionally ``<reservation value=".."/>`` and ``<discount_factor value=".."/>``.

Semantics (DESIGN's GENIUS gotcha): each issue's evaluations are divided by their maximum, the
weights are scaled to sum to 1, and the reservation value is already on the normalised 0-1 scale
(a missing reservation means 0). The discount factor is kept on the profile and unused.

Safety: files are read as bytes, limited in size, and refused if they contain a document type
declaration or entity declaration (``<!DOCTYPE``, ``<!ENTITY``) or a UTF-16/32 byte order mark
(which would hide such declarations from the byte check), and refused if their XML declaration
names an encoding other than UTF-8, ASCII, ISO-8859-1/15 or windows-1252 (UTF-7 or EBCDIC could
spell the declarations in other bytes); only then does ElementTree parse them.
Every problem raises :class:`~edge_dan.negotiation.formats.errors.GeniusFormatError` naming the
file.

Limits: real-valued issues are refused; integer issues load in domains, but evaluation functions
of integer issues in profiles are refused (none of the vendored GENIUS test domains uses either).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from edge_dan.negotiation.domain.outcomes import (
    DEFAULT_MAX_CARDINALITY,
    DiscreteIssue,
    IntegerIssue,
    Issue,
    OutcomeSpace,
    Value,
)
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility, Profile
from edge_dan.negotiation.formats.errors import GeniusFormatError

MAX_FILE_BYTES = 16 * 1024 * 1024
"""Largest XML file the loader reads."""

_FORBIDDEN = (b"<!doctype", b"<!entity")
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_DECLARED_ENCODING = re.compile(
    rb"""\A(?:\xef\xbb\xbf)?<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']"""
)
# Encodings in which every ASCII character is the same single byte, so the byte check for
# DTDs above sees what the parser will see. UTF-7 or EBCDIC could spell "<!DOCTYPE" otherwise.
_ALLOWED_ENCODINGS = frozenset(
    {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "iso-8859-15"}
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
    if kind not in {"discrete", "integer"}:
        raise GeniusFormatError(
            path, f"issue {name!r}: type {kind!r} is not supported (discrete and integer are)"
        )
    return kind


@dataclass(frozen=True)
class _RawIssue:
    index: int
    issue: Issue
    evaluations: dict[Value, float] | None  # None when no item carries an evaluation


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


def _read_issues(path: Path, objective: ET.Element) -> list[_RawIssue]:
    raw: list[_RawIssue] = []
    names: set[str] = set()
    indices: set[int] = set()
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
        if kind == "integer":
            low = _integer(path, element.get("lowerbound"), f"lowerbound of issue {name!r}")
            high = _integer(path, element.get("upperbound"), f"upperbound of issue {name!r}")
            if low > high:
                raise GeniusFormatError(
                    path, f"issue {name!r}: lowerbound {low} > upperbound {high}"
                )
            if element.find("evaluator") is not None:
                raise GeniusFormatError(
                    path, f"issue {name!r}: evaluators of integer issues are not supported"
                )
            raw.append(_RawIssue(index, IntegerIssue(name, low, high), None))
            continue
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
    return space.find(".//weight") is not None or any(
        item.get("evaluation") is not None for item in space.iter("item")
    )


def load_domain(
    path: str | Path, *, max_cardinality: int = DEFAULT_MAX_CARDINALITY
) -> OutcomeSpace:
    """The outcome space of a GENIUS domain file (or of the issues a profile file lists)."""
    path = Path(path)
    space = _utility_space(path, _read_root(path))
    issues = _read_issues(path, _objective(path, space))
    return OutcomeSpace(
        [raw.issue for raw in issues], name=path.stem, max_cardinality=max_cardinality
    )


def _read_weights(
    path: Path, objective: ET.Element, raw_issues: list[_RawIssue]
) -> dict[str, float]:
    by_index = {raw.index: raw.issue.name for raw in raw_issues}
    weights: dict[str, float] = {}
    for element in objective.iter("weight"):
        index = _integer(path, element.get("index"), "index of a <weight>")
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


def load_profile(path: str | Path, space: OutcomeSpace | None = None) -> Profile:
    """A linear additive :class:`Profile` from a GENIUS utility file.

    With ``space`` (the loaded domain), the profile must name exactly the domain's issues and
    values, in any order; without it, the space is built from the profile's own issues.
    """
    path = Path(path)
    xml_space = _utility_space(path, _read_root(path))
    objective = _objective(path, xml_space)
    raw_issues = _read_issues(path, objective)
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
    if discount is not None and not 0.0 < discount <= 1.0:
        raise GeniusFormatError(path, f"discount factor {discount} is outside (0, 1]")

    evaluations = {raw.issue.name: raw.evaluations or {} for raw in raw_issues}
    utility = LinearAdditiveUtility(space, weights, evaluations)
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


@dataclass(frozen=True)
class GeniusScenario:
    """A folder holding one GENIUS domain file and its profiles (sorted by file name)."""

    name: str
    space: OutcomeSpace
    domain_path: Path
    profiles: dict[str, Profile] = field(default_factory=dict)
    profile_paths: dict[str, Path] = field(default_factory=dict)


def load_scenario(
    directory: str | Path, *, max_cardinality: int = DEFAULT_MAX_CARDINALITY
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
    space = load_domain(domains[0], max_cardinality=max_cardinality)
    loaded = {file.name: load_profile(file, space) for file in profiles}
    return GeniusScenario(
        name=directory.name,
        space=space,
        domain_path=domains[0],
        profiles=loaded,
        profile_paths={file.name: file for file in profiles},
    )
