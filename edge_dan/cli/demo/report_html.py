"""The demo's run (``story.summarise``) as one self-contained HTML page.

Nothing is fetched: no script, font, stylesheet or image from anywhere; the charts are inline
SVG drawn here. Every piece of text goes through ``html.escape`` (names, options and reasons
come from the demo's cast and the value model, but a page that escapes everything stays safe
whatever a future cast holds).
"""

from __future__ import annotations

from html import escape
from typing import Any

from edge_dan.cli.demo.story import LEVELS_GLOSS
from edge_dan.values.judgement import PLAIN_SERVES
from edge_dan.values.schwartz import ORIGINAL_VALUES

COLOURS = ("#1b6ca8", "#d1495b", "#2e933c", "#8e44ad", "#e08e0b", "#00798c", "#6d4c41", "#c2185b")
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; }
h1, h2, h3 { line-height: 1.2; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
.owners { display: flex; flex-wrap: wrap; gap: 1rem; }
.owner { border: 1px solid #ddd; border-radius: 6px; padding: .6rem .8rem; width: 17rem; }
.note { color: #555; font-size: 90%; } table { border-collapse: collapse; }
td, th { padding: .25rem .6rem; border-bottom: 1px solid #eee; text-align: left;
         vertical-align: top; }
.ok { color: #2e7d32; font-weight: 600; } .bad { color: #c62828; font-weight: 600; }
code { font-size: 90%; word-break: break-all; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _colour(position: int) -> str:
    return COLOURS[position % len(COLOURS)]


def value_chart(values: dict[str, float], colour: str) -> str:
    """Ten horizontal bars, 0 to 1, a mark at 0.5 (the owner's average)."""
    row, left, width = 18, 96, 150
    height = row * len(ORIGINAL_VALUES) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 40}" height="{height}"'
        f' role="img" aria-label="value profile">'
    ]
    for i, name in enumerate(ORIGINAL_VALUES):
        weight = float(values.get(name, 0.5))
        y = 4 + i * row
        parts.append(
            f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{_e(name)}</text>'
            f'<rect x="{left}" y="{y + 2}" width="{width * weight:.1f}" height="{row - 6}"'
            f' fill="{colour}"><title>{_e(name)}: {_e(PLAIN_SERVES[name])}</title></rect>'
            f'<text x="{left + width * weight + 4:.1f}" y="{y + 12}">{weight:.2f}</text>'
        )
    mid = left + width / 2
    parts.append(
        f'<line x1="{mid}" y1="2" x2="{mid}" y2="{height - 2}" stroke="#999"'
        ' stroke-dasharray="3 3"/></svg>'
    )
    return "".join(parts)


def trace_chart(decision: dict[str, Any]) -> str:
    """Per party, round by round: the least good outcome it would accept so far, as a share of
    its best (its concession); the outcome agreed marked at the last round."""
    rounds = decision["rounds"]
    if not rounds:
        return ""
    names = [p["name"] for p in rounds[0]["parties"]]
    left, top, width, height = 44, 12, 560, 220
    last = int(max(r["round"] for r in rounds))

    def x(n: float) -> float:
        return left + (width * (float(n) - 1) / max(1, last - 1))

    def y(share: float) -> float:
        return top + height * (1.0 - float(share))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 130}"'
        f' height="{top + height + 40}" role="img" aria-label="negotiation trace">'
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + width}" y2="{y(tick):.1f}"'
            f' stroke="#eee"/><text x="{left - 6}" y="{y(tick) + 4:.1f}"'
            f' text-anchor="end">{tick:.2f}</text>'
        )
    for r in rounds:
        parts.append(
            f'<text x="{x(r["round"]):.1f}" y="{top + height + 16}"'
            f' text-anchor="middle">{r["round"]}</text>'
        )
    parts.append(
        f'<text x="{left + width / 2}" y="{top + height + 34}" text-anchor="middle">round</text>'
    )
    for i, name in enumerate(names):
        points = [
            f"{x(r['round']):.1f},{y(r['parties'][i]['least_share']):.1f}"
            for r in rounds
            if r["parties"][i]["least_share"] is not None
        ]
        colour = _colour(i)
        if points:
            parts.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}"'
                f' stroke-width="2"><title>{_e(name)}</title></polyline>'
            )
        parts.append(
            f'<rect x="{left + width + 14}" y="{top + 14 * i}" width="10" height="10"'
            f' fill="{colour}"/><text x="{left + width + 28}" y="{top + 14 * i + 9}">'
            f"{_e(name)}</text>"
        )
    for i, outcome in enumerate(decision["outcomes"]):
        parts.append(
            f'<circle cx="{x(last):.1f}" cy="{y(outcome["share_of_best"]):.1f}" r="5"'
            f' fill="none" stroke="{_colour(i)}" stroke-width="2"><title>{_e(outcome["name"])}:'
            f" the accord, {outcome['share_of_best']:.2f} of the best</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def outcome_chart(decision: dict[str, Any]) -> str:
    """Per owner, on the share-of-best scale: the least they would accept, the accord, the best."""
    outcomes = decision["outcomes"]
    left, width, row = 70, 420, 26
    height = row * len(outcomes) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 60}" height="{height}"'
        ' role="img" aria-label="outcome against best and reservation">'
    ]
    for i, o in enumerate(outcomes):
        y = 8 + i * row
        reservation = left + width * float(o["reservation_share"])
        agreed = left + width * float(o["share_of_best"])
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{_e(o["name"])}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{width}" height="12" fill="#f1f1f1"/>'
            f'<rect x="{left}" y="{y + 4}" width="{reservation - left:.1f}" height="12"'
            f' fill="#f4c7c3"><title>below what {_e(o["name"])} would accept</title></rect>'
            f'<circle cx="{agreed:.1f}" cy="{y + 10}" r="6" fill="{_colour(i)}"><title>'
            f"the accord: {o['share_of_best']:.2f} of the best</title></circle>"
            f'<text x="{left + width + 6}" y="{y + 13}">{o["share_of_best"]:.2f}</text>'
        )
    base = 8 + len(outcomes) * row
    parts.append(
        f'<text x="{left}" y="{base + 12}">0</text>'
        f'<text x="{left + width}" y="{base + 12}" text-anchor="end">1 = the best for them'
        "</text></svg>"
    )
    return "".join(parts)


def _decision(number: int, d: dict[str, Any]) -> str:
    kind = "Everyday decision" if d["kind"] == "everyday" else "Multi-issue decision"
    out = [f"<h2>{number}. {kind}: {_e(d['title'])}</h2>"]
    out.append("<table><tr><th>issue</th><th>options</th></tr>")
    for issue, values in d["issues"].items():
        out.append(f"<tr><td>{_e(issue)}</td><td>{' | '.join(_e(v) for v in values)}</td></tr>")
    out.append("</table>")
    if d["kind"] == "everyday":
        out.append("<h3>Each owner's favourite, judged privately by their Little Dan</h3><ul>")
        for f in d["favourites"]:
            out.append(f"<li><b>{_e(f['name'])}</b>: {_e(f['favourite'])} ({_e(f['why'])})</li>")
        out.append("</ul>")
    for r in d["refused"]:
        out.append(
            f"<p><span class='bad'>Refused by every Little Dan</span>"
            f" ({_e(', '.join(r['refused_by']))}): {_e(r['option'])}: {_e(r['reason'])}</p>"
        )
    for line in d["red_lines"]:
        state = "respected" if line["respected"] else "CROSSED"
        css = "ok" if line["respected"] else "bad"
        out.append(f"<p>Red line: {_e(line['red_line'])}: <span class='{css}'>{state}</span></p>")
    out.append(f"<h3>The negotiation, round by round</h3><p class='note'>{_e(LEVELS_GLOSS)}</p>")
    out.append(trace_chart(d))
    out.append(
        "<p class='note'>Each line: the least good outcome that owner's agent has said it would"
        " accept so far, as a share of that owner's best (1). Circles: the accord.</p>"
    )
    proposals = [r for r in d["rounds"] if r["proposal"] is not None]
    for r in proposals:
        terms = "; ".join(f"{k} = {v}" for k, v in r["proposal"].items())
        answers = ", ".join(
            f"{name} {'signs' if ok else 'says no'}" for name, ok in r["answers"].items()
        )
        out.append(f"<p>Round {r['round']}: the mediator proposes {_e(terms)}; {_e(answers)}</p>")
    accord = d["accord"]
    if accord is None:
        out.append(f"<p class='bad'>No agreement: {_e(d['failure'])}</p>")
        return "".join(out)
    out.append("<h3>The outcome for each owner</h3>")
    out.append(outcome_chart(d))
    out.append("<ul>")
    for o in d["outcomes"]:
        out.append(
            f"<li><b>{_e(o['name'])}</b>: {_e(o['why'])}; {o['share_of_best']:.2f} of"
            f" {_e(o['pronoun'])} best (the least acceptable: {o['reservation_share']:.2f})</li>"
        )
    out.append("</ul><h3>The signed accord</h3>")
    terms = "".join(
        f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in accord["terms"].items()
    )
    out.append(f"<p>Accord <code>{_e(accord['id'])}</code></p><table>{terms}</table>")
    out.append("<table><tr><th>party</th><th>fingerprint</th><th>signature</th></tr>")
    for s in accord["signatures"]:
        state = "<span class='ok'>valid</span>" if s["valid"] else "<span class='bad'>bad</span>"
        out.append(
            f"<tr><td>{_e(s['name'])}</td><td><code>{_e(s['fingerprint'])}</code></td>"
            f"<td>{state}</td></tr>"
        )
    verdict = "verified" if accord["verified"] else "NOT verified"
    out.append(
        f"</table><p>Every party's Ed25519 signature over the terms was checked offline on this"
        f" machine: <b>{verdict}</b>. Kept in the encrypted stores of"
        f" {_e(', '.join(accord['stored_by']))}.</p>"
    )
    return "".join(out)


def render(data: dict[str, Any]) -> str:
    owners = []
    for i, o in enumerate(data["owners"]):
        line = "" if o["red_line"] is None else f"<p class='note'>Red line: {_e(o['red_line'])}</p>"
        owners.append(
            f"<div class='owner'><h3>{_e(o['name'])}</h3><p>{_e(o['about'])}</p>"
            f"<p class='note'>agent <code>{_e(o['fingerprint'])}</code></p>"
            f"{value_chart(o['values'], _colour(i))}{line}</div>"
        )
    pairings = "".join(
        f"<li>{_e(p['opened'])} opened pairing; {_e(p['joined'])}'s agent paired. Screens showed: "
        + ", ".join(f"{_e(who)} {_e(code)}" for who, code in p["codes"].items())
        + "</li>"
        for p in data["pairings"]
    )
    decisions = "".join(_decision(4 + i, d) for i, d in enumerate(data["decisions"]))
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Little Dan demo</title><style>{STYLE}</style></head><body>"
        "<h1>Little Dan demo</h1>"
        f"<p>{len(data['owners'])} agents on one machine: {_e(data['network_description'])}."
        f" The whole run took {_e(data['seconds'].get('total', ''))} s.</p>"
        "<h2>1-2. The owners and their values</h2>"
        "<p class='note'>0.5 (the dashed line) is as important as the owner's values are on"
        " average, 1 of supreme importance.</p>"
        f"<div class='owners'>{''.join(owners)}</div>"
        "<h2>3. Pairing by numeric comparison</h2><p>Both owners see the same six digits and"
        f" confirm (the demo says yes for them).</p><ul>{pairings}</ul>"
        f"{decisions}</body></html>\n"
    )
