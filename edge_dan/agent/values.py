"""From the owner's values to a negotiation utility: text options judged by the value model.

An issue whose values are free text ("Visit grandma and cook for her") has no table an owner wrote
down; the value model judges each option (which values it serves or goes against, and whether it
would harm someone) and the owner's personal model (profile prior refined by their feedback)
turns the effects into a utility. Rescaled to [0, 1] over the options on the table, it is the
issue's evaluation in a linear additive utility.

Non-harm comes first: an option judged harmful is worth 0 to every owner and becomes a red line
(``harm_red_lines``), so no Little Dan offers, accepts or signs an outcome that contains it,
whatever the profiles say. Only this owner's contest of that exact text lifts it for this agent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from edge_dan.model import ValueModel
from edge_dan.negotiation.domain.outcomes import OutcomeSpace, TextIssue, Value
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility, Profile, RedLine
from edge_dan.negotiation.strategy import LittleDan, Policy
from edge_dan.owner import Owner
from edge_dan.values.judgement import option_key


def text_evaluations(owner: Owner, model: ValueModel, options: Sequence[str]) -> dict[str, float]:
    """Each option's worth to this owner, 0 (least liked of these, or harmful) to 1 (most liked)."""
    personal = owner.feedback.model()
    contested = owner.contests.option_keys()
    judgements = model.judge(list(options))
    harmful = [
        j.harm is not None and option_key(o) not in contested
        for o, j in zip(options, judgements, strict=True)
    ]
    effects = np.array([j.effects for j in judgements], dtype=float)
    utility = np.asarray(personal.utility(effects), dtype=float)
    fine = [u for u, h in zip(utility, harmful, strict=True) if not h]
    if not fine:
        return dict.fromkeys(options, 0.0)
    low, high = float(min(fine)), float(max(fine))
    out = {}
    for option, u, h in zip(options, utility, harmful, strict=True):
        if h:
            out[option] = 0.0
        elif high - low < 1e-9:  # no difference the model can see: every option is as good
            out[option] = 1.0
        else:
            out[option] = float((u - low) / (high - low))
    return out


def harm_red_lines(
    model: ValueModel, space: OutcomeSpace, *, contested: frozenset[str] = frozenset()
) -> tuple[RedLine, ...]:
    """One red line per harmful free-text option of ``space`` (reasons for the owner only)."""
    lines: list[RedLine] = []
    for position, issue in enumerate(space.issues):
        if not isinstance(issue, TextIssue):
            continue
        options = [str(v) for v in issue.values]
        for option, judgement in zip(options, model.judge(options), strict=True):
            if judgement.harm is None or option_key(option) in contested:
                continue
            lines.append(
                RedLine.forbid_value(position, option, f"{issue.name}: {judgement.harm.reason}")
            )
    return tuple(lines)


def owner_harm_red_lines(
    owner: Owner, model: ValueModel, space: OutcomeSpace
) -> tuple[RedLine, ...]:
    """``harm_red_lines`` with this owner's contests applied."""
    return harm_red_lines(model, space, contested=owner.contests.option_keys())


DEFAULT_RESERVATION = 0.3  # below this share of the best outcome, walking away is better


def strategy_for(
    owner: Owner,
    space: OutcomeSpace,
    model: ValueModel | None = None,
    *,
    weights: Mapping[str, float] | None = None,
    tables: Mapping[str, Mapping[Value, float]] | None = None,
    reservation: float = DEFAULT_RESERVATION,
    red_lines: Sequence[RedLine] = (),
    policy: Policy | None = None,
) -> LittleDan:
    """The owner's negotiator for ``space``, from the owner's values.

    Free-text issues (``TextIssue``) are judged by ``model`` through the owner's values and
    answers (``text_evaluations``); a harmful option is worth nothing and is a red line
    (``owner_harm_red_lines``), whatever else is asked. Any other issue takes its scores from
    ``tables[issue]`` (value -> score, higher is better), or leaves the owner indifferent to it.
    ``weights`` says how much each issue matters (default: equally); ``reservation`` is the least
    share of the best outcome worth agreeing to; ``red_lines`` are the owner's own. ::

        plans = OutcomeSpace([TextIssue("plan", ["Cook for grandma", "Go clubbing"])])
        strategy = strategy_for(owner, plans, ValueModel.load())
    """
    tables = tables or {}
    unknown = set(tables) - set(space.issue_names)
    if unknown:
        raise ValueError(f"tables name issues that are not in the space: {sorted(unknown)}")
    evaluations: dict[str, Mapping[Value, float]] = {}
    for issue in space.issues:
        if isinstance(issue, TextIssue):
            if model is None:
                raise ValueError(f"issue {issue.name!r} is free text: judging it needs a model")
            judged = text_evaluations(owner, model, [str(v) for v in issue.values])
            evaluations[issue.name] = {option: score for option, score in judged.items()}
        else:
            evaluations[issue.name] = tables.get(issue.name) or dict.fromkeys(issue.values, 1.0)
    utility = LinearAdditiveUtility(
        space, weights or dict.fromkeys(space.issue_names, 1.0), evaluations
    )
    harm = () if model is None else owner_harm_red_lines(owner, model, space)
    profile = Profile(space, utility, reservation_value=reservation, red_lines=(*harm, *red_lines))
    return LittleDan(profile, policy=policy)
