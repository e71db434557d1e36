"""A negotiation's outcome in plain words, for the owner who asked for it.

``summarise`` gathers what the owner should hear (what was agreed, how good it is for them, why
Little Dan accepted in terms of their values, the accord id) into a JSON-ready dict; ``describe``
turns that dict into the text ``edge-dan negotiate`` prints (and ``edge-dan demo`` may reuse).
The summary holds option texts and the owner's own utility: it goes to the owner's terminal or
script, never into the agent's log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edge_dan.negotiation.domain.outcomes import TextIssue

if TYPE_CHECKING:
    from edge_dan.agent import NegotiationResult
    from edge_dan.model import ValueModel
    from edge_dan.negotiation.strategy import LittleDan
    from edge_dan.owner import Owner

GOOD_SHARE = 0.8  # at least this share of the owner's best outcome is "good for you"
CLOSE = 1e-9


def verdict(utility: float, best: float, reservation: float) -> str:
    """How good ``utility`` is for the owner, in words."""
    if utility >= best - CLOSE:
        return "your best option"
    if best > 0 and utility / best >= GOOD_SHARE:
        return "good for you"
    if utility >= reservation - CLOSE:
        return "acceptable to you"
    return "below what you would accept"  # never signed by Little Dan: shown only if it happens


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _why_text_option(
    owner: Owner, model: ValueModel, options: list[str], chosen: str
) -> dict[str, Any]:
    ranking = owner.rank(options, model)
    for ranked in ranking.ranked:
        if ranked.text == chosen:
            text = ranked.explanation.text  # without the note on how the weights were set
            why = text.split(" (first guess", 1)[0].split(" (your profile is neutral", 1)[0]
            return {"rank": ranked.rank, "of": len(options), "why": why}
    return {"rank": None, "of": len(options), "why": "refused by Little Dan (would harm someone)"}


def summarise(
    owner: Owner,
    model: ValueModel | None,
    *,
    strategy: LittleDan,
    topic: str,
    partners: list[str],
    result: NegotiationResult,
) -> dict[str, Any]:
    """What the owner should hear about ``result`` (see the module doc)."""
    summary: dict[str, Any] = {
        "topic": topic,
        "partners": partners,
        "agreed": result.accord is not None,
        "negotiation_id": result.negotiation_id.hex(),
    }
    if result.accord is None:
        failure = result.failure
        summary["failure"] = (
            None
            if failure is None
            else {"code": failure.code.name.lower(), "detail": failure.detail}
        )
        return summary
    accord = result.accord
    outcome = tuple(value for _, value in accord.outcome)
    profile = strategy.profile
    space = profile.space
    acceptable = profile.utilities()[profile.acceptable_mask()]
    utility = profile(outcome)
    best = float(acceptable.max()) if acceptable.size else utility
    reasons = []
    for issue, value in accord.outcome:
        reason: dict[str, Any] = {"issue": issue, "value": value}
        found = next(i for i in space.issues if i.name == issue)
        if isinstance(found, TextIssue) and model is not None:
            options = [str(v) for v in found.values]
            reason.update(_why_text_option(owner, model, options, str(value)))
        reasons.append(reason)
    summary.update(
        {
            "accord_id": accord.id.hex(),
            "outcome": {issue: value for issue, value in accord.outcome},
            "utility": round(utility, 3),
            "best": round(best, 3),
            "reservation": round(profile.reservation_value, 3),
            "verdict": verdict(utility, best, profile.reservation_value),
            "reasons": reasons,
            "signed_by": len([s for s in accord.signatures if s is not None]),
        }
    )
    return summary


def describe(summary: dict[str, Any]) -> str:
    """``summarise``'s dict as the lines a person reads."""
    with_whom = ", ".join(summary["partners"])
    if not summary["agreed"]:
        failure = summary.get("failure")
        why = "" if failure is None else f": {failure['detail']} ({failure['code']})"
        return f"No agreement on {summary['topic']!r} with {with_whom}{why}. Nothing was signed."
    lines = [f"Agreed on {summary['topic']!r} with {with_whom}:"]
    for reason in summary["reasons"]:
        lines.append(f"  {reason['issue']}: {reason['value']}")
    lines.append(
        f"For you: {summary['verdict']} (worth {summary['utility']:.2f} to you; the best possible"
        f" was {summary['best']:.2f}, and you would accept no less than"
        f" {summary['reservation']:.2f})."
    )
    for reason in summary["reasons"]:
        if "why" not in reason:
            continue
        place = (
            "" if reason["rank"] is None else f"your {_ordinal(reason['rank'])} of {reason['of']}; "
        )
        lines.append(f"Why Little Dan accepted {reason['value']!r}: {place}{reason['why']}.")
    lines.append(
        f"Accord {summary['accord_id']}, signed by all {summary['signed_by']} parties"
        " and kept in your store."
    )
    return "\n".join(lines)
