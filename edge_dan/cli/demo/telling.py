"""The demo's result (``story.summarise``) in plain words, numbered on from the live steps."""

from __future__ import annotations

from typing import Any

from edge_dan.cli.demo.story import LEVELS_GLOSS
from edge_dan.cli.outcome_text import GOOD_SHARE

OBJECT = {"her": "her", "his": "him", "their": "them"}


def _in_words(outcome: dict[str, Any]) -> str:
    """How good the outcome is for its owner, in the words ``edge-dan negotiate`` uses."""
    whose, share = outcome["pronoun"], outcome["share_of_best"]
    if share >= 1 - 1e-6:  # shares are rounded to 3 places
        return f"{whose} best option"
    if share >= GOOD_SHARE:
        return f"good for {OBJECT[whose]}"
    return f"acceptable to {OBJECT[whose]}"


WHAT = {"everyday": "Everyday decision", "multi-issue": "Multi-issue decision"}


def _terms(terms: dict[str, Any]) -> str:
    if len(terms) == 1:
        return str(next(iter(terms.values())))
    return ", ".join(f"{issue} {value}" for issue, value in terms.items())


def _round_line(r: dict[str, Any], mediator: str) -> str:
    listed = ", ".join(
        f"{p['name']} {p['listed']}"
        + ("" if p["least_share"] is None else f" (down to {p['least_share']:.2f} of the best)")
        for p in r["parties"]
    )
    common = r["common"]
    together = "none acceptable to all yet" if common == 0 else f"{common} acceptable to all"
    line = (
        f"round {r['round']}: {mediator}'s agent asks each for {r['asked']} more level(s);"
        f" would accept: {listed}; {together}"
    )
    if r["proposal"] is not None:
        answers = ", ".join(
            f"{name} {'signs' if ok else 'says no'}" for name, ok in r["answers"].items()
        )
        line += f"\n      the mediator proposes: {_terms(r['proposal'])}; {answers}"
    return line


def _rounds(rounds: list[dict[str, Any]], mediator: str) -> list[str]:
    """One line a round; rounds in which nothing moved are folded into one line."""
    lines: list[str] = []
    quiet: list[int] = []
    previous = None
    for r in rounds:
        state = [(p["listed"], p["least_share"]) for p in r["parties"]]
        if state == previous and r["proposal"] is None:
            quiet.append(r["round"])
            continue
        if quiet:
            span = f"{quiet[0]}-{quiet[-1]}" if len(quiet) > 1 else str(quiet[0])
            lines.append(f"   round {span}: nobody's next level holds anything new")
            quiet = []
        lines.append("   " + _round_line(r, mediator))
        previous = state
    if quiet:
        span = f"{quiet[0]}-{quiet[-1]}" if len(quiet) > 1 else str(quiet[0])
        lines.append(f"   round {span}: nobody's next level holds anything new")
    return lines


def _decision(number: int, d: dict[str, Any]) -> list[str]:
    lines = [f"{number}. {WHAT[d['kind']]}: {d['title']}"]
    options = d["issues"]
    for issue, values in options.items():
        lines.append(f"   {issue}: " + " | ".join(values))
    if d["kind"] == "everyday":
        lines.append("   Each Little Dan judges the options by its owner's values, privately:")
        for f in d["favourites"]:
            lines.append(f"   - {f['name']} likes best: {f['favourite']} ({f['why']})")
    for refusal in d["refused"]:
        who = ", ".join(refusal["refused_by"])
        lines.append(
            f"   Refused by every Little Dan ({who}), whatever the profile: {refusal['option']!r}"
            f" ({refusal['reason']})"
        )
    for line in d["red_lines"]:
        lines.append(f"   Red line: {line['red_line']}")
    lines.append(f"   {LEVELS_GLOSS}")
    lines.extend(_rounds(d["rounds"], d["mediator"]))
    accord = d["accord"]
    if accord is None:
        lines.append(f"   No agreement: {d['failure']}")
        return lines
    lines.append(f"   Agreed: {_terms(accord['terms'])}")
    lines.append(f"   Signed accord {accord['id']}")
    for s in accord["signatures"]:
        state = "valid" if s["valid"] else "INVALID"
        lines.append(f"     signed by {s['name']} ({s['fingerprint']}): signature {state}")
    kept = ", ".join(accord["stored_by"])
    verdict = "verified" if accord["verified"] else "NOT verified"
    lines.append(f"     {verdict} offline on this machine; kept in the stores of {kept}")
    lines.append("   Why each Little Dan signed:")
    for o in d["outcomes"]:
        lines.append(
            f"   - {o['name']}: {o['why']}; {_in_words(o)}:"
            f" {o['share_of_best']:.2f} of {o['pronoun']} best (the least {o['pronoun']} Little"
            f" Dan would accept: {o['reservation_share']:.2f})"
        )
    for line in d["red_lines"]:
        kept_word = "respected" if line["respected"] else "CROSSED"
        lines.append(f"   {line['name']}'s red line {kept_word}: {line['red_line']}")
    return lines


def tell(data: dict[str, Any], first_number: int = 4) -> str:
    lines: list[str] = []
    for offset, decision in enumerate(data["decisions"]):
        lines.extend(_decision(first_number + offset, decision))
        lines.append("")
    return "\n".join(lines).rstrip()
