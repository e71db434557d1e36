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

from collections.abc import Sequence

import numpy as np

from edge_dan.model import ValueModel
from edge_dan.negotiation.domain.outcomes import OutcomeSpace, TextIssue
from edge_dan.negotiation.domain.utility import RedLine
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
