"""The demo's run as data (``summarise``: the ``--json`` object, which the report draws too) and
in plain words for the terminal (``tell``).

Words before numbers: a share of an owner's best ("0.82 of her best") rather than a bare
utility, values named with what they mean ("benevolence (caring for the people close to you)",
the wording of ``edge-dan score``), and the protocol's steps said as what they do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edge_dan.cli.demo.cast import Character
from edge_dan.cli.demo.stage import Decision, Member, Staged
from edge_dan.identity import IdentityError, verify
from edge_dan.model import ValueModel
from edge_dan.negotiation.domain.outcomes import TextIssue, Value
from edge_dan.negotiation.strategy import LittleDan
from edge_dan.values.ranking import rank_judged

NETWORKS = {
    "namespace": "real mDNS and TCP on the loopback interface of a private network namespace"
    " (nothing reaches your network)",
    "loopback": "discovery passed between the agents in this process (no private network"
    " namespace here for real mDNS), sessions over real TCP sockets on 127.0.0.1",
}
LEVELS_GLOSS = (
    "Each round the mediator asks every agent for a few more of the outcomes it would accept,"
    " best first; an agent never says how much it likes them. When some outcome is on every"
    " list, the mediator proposes the one that looks best for all together, and each agent"
    " signs it or says no."
)


def _share(utility: float, best: float) -> float:
    return round(utility / best, 3) if best > 0 else 0.0


def _choice_words(character: Character, issue: str, value: Value) -> str:
    table = character.budget if issue == "budget" else character.start
    order = sorted(table, key=lambda v: -table[v])
    place = ("first", "second", "third")[order.index(value)] if value in order else "a"
    return f"{issue} {value}: {character.pronoun} {place} choice"


def _refusals(decision: Decision, members: list[Member], model: ValueModel) -> list[dict[str, Any]]:
    """Every harmful free-text option, its reason, and whose Little Dan refused it (every
    outcome containing it is unacceptable to that owner's strategy)."""
    space = decision.space
    out = []
    for position, issue in enumerate(space.issues):
        if not isinstance(issue, TextIssue):
            continue
        options = [str(v) for v in issue.values]
        for option, judgement in zip(options, model.judge(options), strict=True):
            if judgement.harm is None:
                continue
            having = np.array([o[position] == option for o in space.iter_outcomes()])
            refused_by = [
                m.name
                for m, s in zip(members, decision.strategies, strict=True)
                if not s.acceptable_mask()[having].any()
            ]
            out.append(
                {"option": option, "reason": judgement.harm.reason, "refused_by": refused_by}
            )
    return out


def _favourites(
    decision: Decision, members: list[Member], model: ValueModel
) -> list[dict[str, Any]]:
    """Each owner's first pick among the free-text options, with the values behind it."""
    issue = next(i for i in decision.space.issues if isinstance(i, TextIssue))
    options = [str(v) for v in issue.values]
    judgements = model.judge(options)
    out = []
    for m in members:
        ranking = rank_judged(
            judgements,
            m.owner.feedback.model(),
            texts=options,
            top=2,
            contested=m.owner.contests.option_keys(),
        )
        top = ranking.ranked[0]
        out.append(
            {
                "name": m.name,
                "favourite": top.text,
                "why": ", ".join(c.words for c in top.explanation.speaks_for)
                or "no value stands out",
            }
        )
    return out


def _rounds(decision: Decision, members: list[Member]) -> list[dict[str, Any]]:
    tracer = decision.tracer
    bests = [_best(s) for s in decision.strategies]
    rounds = []
    for r in tracer.rounds:
        rounds.append(
            {
                "round": r.number,
                "asked": r.asked,
                "parties": [
                    {
                        "name": m.name,
                        "listed": p.listed,
                        "least_share": None if p.least is None else _share(p.least, bests[i]),
                    }
                    for i, (m, p) in enumerate(zip(members, r.parties, strict=True))
                ],
                "common": r.common,
                "proposal": None
                if r.proposal is None
                else decision.space.as_dict(decision.space.outcome_at(r.proposal)),
                "answers": {members[i].name: ok for i, ok in sorted(r.answers.items())},
            }
        )
    return rounds


def _best(strategy: LittleDan) -> float:
    mask = strategy.acceptable_mask()
    return float(strategy.profile.utilities()[mask].max()) if mask.any() else 0.0


def _why(member: Member, decision: Decision, outcome: tuple[Value, ...], model: ValueModel) -> str:
    parts = []
    for issue, value in zip(decision.space.issues, outcome, strict=True):
        if isinstance(issue, TextIssue):
            effects = model.judge([str(value)])[0].effects
            explained = member.owner.feedback.model().explain(effects, top=2)
            served = [c.words for c in explained.speaks_for]
            parts.append("; ".join(served) if served else "no value of theirs speaks against it")
        else:
            parts.append(_choice_words(member.character, issue.name, value))
    return "; ".join(parts)


def _accord(decision: Decision, members: list[Member]) -> dict[str, Any] | None:
    accord = decision.result.accord
    if accord is None:
        return None
    names = {m.identity_key: m for m in members}
    message = accord.message()
    signatures = []
    for party, signature in zip(accord.parties, accord.signatures, strict=True):
        try:
            verify(party, message, signature or b"")
            valid = True
        except IdentityError:
            valid = False
        m = names[party]
        signatures.append({"name": m.name, "fingerprint": m.fingerprint, "valid": valid})
    accord.verify()  # every signature in and valid, or AccordError: never a report of a bad one
    return {
        "id": accord.id.hex(),
        "terms": accord.terms,
        "parties": [
            {"name": names[p].name, "fingerprint": names[p].fingerprint} for p in accord.parties
        ],
        "signatures": signatures,
        "verified": all(s["valid"] for s in signatures),
        "stored_by": decision.stored_by,
    }


def _decision(decision: Decision, staged: Staged, kind: str) -> dict[str, Any]:
    members, model = staged.members, staged.model
    space = decision.space
    result = decision.result
    data: dict[str, Any] = {
        "title": decision.title,
        "kind": kind,
        "mediator": members[0].name,
        "issues": {issue.name: [str(v) for v in issue.values] for issue in space.issues},
        "refused": _refusals(decision, members, model),
        "favourites": _favourites(decision, members, model),
        "red_lines": [],
        "rounds": _rounds(decision, members),
        "agreement": result.accord is not None,
        "failure": None if result.failure is None else result.failure.detail,
        "accord": _accord(decision, members),
        "outcomes": [],
    }
    if result.accord is None:
        return data
    outcome = tuple(value for _, value in result.accord.outcome)
    for m, strategy in zip(members, decision.strategies, strict=True):
        utility = float(strategy.profile(outcome))
        best = _best(strategy)
        data["outcomes"].append(
            {
                "name": m.name,
                "utility": round(utility, 3),
                "best": round(best, 3),
                "reservation": round(strategy.floor, 3),
                "share_of_best": _share(utility, best),
                "reservation_share": _share(strategy.floor, best),
                "pronoun": m.character.pronoun,
                "acceptable": strategy.acceptable(outcome),
                "why": _why(m, decision, outcome, model),
            }
        )
        line = m.character.red_line
        if kind == "multi-issue" and line is not None:
            data["red_lines"].append(
                {
                    "name": m.name,
                    "red_line": line.why,
                    "issue": line.issue,
                    "value": line.value,
                    "respected": result.accord.terms[line.issue] != line.value,
                }
            )
    return data


def summarise(staged: Staged) -> dict[str, Any]:
    """The whole run as plain data: what ``--json`` prints and the report draws."""
    members = staged.members
    return {
        "network": staged.network,
        "network_description": NETWORKS[staged.network],
        "seconds": {k: round(v, 2) for k, v in staged.seconds.items()},
        "owners": [
            {
                "name": m.name,
                "about": m.character.about,
                "fingerprint": m.fingerprint,
                "values": {k: round(v, 3) for k, v in m.owner.profile.current().weights.items()},
                "red_line": None if m.character.red_line is None else m.character.red_line.why,
            }
            for m in members
        ],
        "pairings": [
            {"opened": p.opened, "joined": p.joined, "codes": p.codes} for p in staged.pairings
        ],
        "decisions": [
            _decision(staged.decisions[0], staged, "everyday"),
            _decision(staged.decisions[1], staged, "multi-issue"),
        ],
    }
