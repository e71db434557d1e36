"""Outcome spaces to and from the ``Agenda`` message, strictly (an agenda comes from a peer)."""

from __future__ import annotations

from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.domain.outcomes import (
    DiscreteIssue,
    IntegerIssue,
    Issue,
    OutcomeSpace,
    TextIssue,
)
from edge_dan.wire.messages.agenda import (
    KIND_DISCRETE,
    KIND_INTEGER,
    KIND_TEXT,
    MAX_ISSUES,
    Agenda,
)

MAX_AGENDA_OUTCOMES = 1_000_000  # a peer must not make us enumerate more than this


class BadAgenda(NegotiationError):
    """An agenda does not describe a usable outcome space."""


def agenda_for(
    negotiation_id: bytes, title: str, space: OutcomeSpace, group: bytes = b""
) -> Agenda:
    names: list[str] = []
    kinds: list[int] = []
    values: list[tuple[str, ...]] = []
    for issue in space.issues:
        names.append(issue.name)
        if isinstance(issue, IntegerIssue):
            kinds.append(KIND_INTEGER)
            values.append((str(issue.low), str(issue.high)))
        else:
            kinds.append(KIND_TEXT if isinstance(issue, TextIssue) else KIND_DISCRETE)
            values.append(tuple(str(value) for value in issue.values))
    if group and len(group) != 16:
        raise BadAgenda("a group id is 16 bytes")
    return Agenda(negotiation_id, title, tuple(names), tuple(kinds), tuple(values), group)


def space_of(agenda: Agenda) -> OutcomeSpace:
    """The outcome space an agenda describes; ``BadAgenda`` when it describes none."""
    count = len(agenda.issue_names)
    if (
        not 1 <= count <= MAX_ISSUES
        or count != len(agenda.issue_kinds) != len(agenda.issue_values)
        or count != len(agenda.issue_values)
    ):
        raise BadAgenda("an agenda lists each issue once with its kind and values")
    issues: list[Issue] = []
    try:
        for name, kind, values in zip(
            agenda.issue_names, agenda.issue_kinds, agenda.issue_values, strict=True
        ):
            if kind == KIND_INTEGER:
                if len(values) != 2 or not all(_decimal(v) for v in values):
                    raise BadAgenda(f"integer issue {name!r} needs two decimal bounds")
                issues.append(IntegerIssue(name, int(values[0]), int(values[1])))
            elif kind in (KIND_DISCRETE, KIND_TEXT):
                cls = TextIssue if kind == KIND_TEXT else DiscreteIssue
                issues.append(cls(name, tuple(values)))
            else:
                raise BadAgenda(f"issue {name!r} has an unknown kind {kind}")
        space = OutcomeSpace(issues, name=agenda.title, max_cardinality=MAX_AGENDA_OUTCOMES)
        if space.cardinality > MAX_AGENDA_OUTCOMES:  # judging it would enumerate them all
            raise BadAgenda(
                f"the agenda describes no usable outcome space: {space.cardinality} outcomes,"
                f" more than {MAX_AGENDA_OUTCOMES}"
            )
        return space
    except BadAgenda:
        raise
    except NegotiationError as exc:
        raise BadAgenda(f"the agenda describes no usable outcome space: {exc}") from exc


def _decimal(text: str) -> bool:
    body = text[1:] if text.startswith("-") else text
    return body.isascii() and body.isdigit() and len(body) <= 18
