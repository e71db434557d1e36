"""``edge-dan profile``: show, quiz, set, history."""

from __future__ import annotations

import argparse
import sys

from edge_dan.cli.chart import profile_chart
from edge_dan.cli.context import Context
from edge_dan.cli.numbers import decimal
from edge_dan.errors import ProfileError, UsageError
from edge_dan.values.profile import ProfileChange
from edge_dan.values.questionnaire import ANSWER_LABELS, ITEMS, load_answers, score


def cmd_show(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.open_owner() as owner:
        profile = owner.profile.current()
    color = sys.stdout.isatty()
    ctx.emit({"weights": profile.to_dict()}, profile_chart(profile, color=color))


_ANSWER_TEXTS = frozenset(str(k) for k in ANSWER_LABELS)


def _ask_answers() -> dict[str, int]:
    if not sys.stdin.isatty():
        raise UsageError("the questionnaire needs a terminal; give --answers FILE in scripts")
    print("How much is each person like you?")
    print("  " + "   ".join(f"{k} {label}" for k, label in ANSWER_LABELS.items()))
    print("Answer 1 to 6; q quits without saving.\n")
    answers: dict[str, int] = {}
    for number, item in enumerate(ITEMS, 1):
        while True:
            try:
                reply = input(f"{number:2}/{len(ITEMS)} {item.text}\n      > ").strip().lower()
            except EOFError:  # Ctrl-D
                reply = "q"
            if reply in {"q", "quit"}:
                raise UsageError("questionnaire stopped; nothing was saved")
            if reply in _ANSWER_TEXTS:  # 1 to 6 in ASCII digits, not "٣" or "３"
                answers[item.id] = int(reply)
                break
            print("      please answer with a number from 1 to 6")
    return answers


def cmd_quiz(ctx: Context, args: argparse.Namespace) -> None:
    answers = load_answers(args.answers) if args.answers else _ask_answers()
    result = score(answers)  # validate before unlocking: a bad file costs no passphrase
    with ctx.open_owner() as owner:
        owner.profile.record_quiz(answers, result)
    if result.uniform:
        ctx.note("warning: every answer was the same, so they say nothing about your priorities")
    ctx.emit(
        {
            "weights": result.weights,
            "centered": result.centered,
            "raw": result.raw,
            "uniform": result.uniform,
        },
        profile_chart(result.profile, color=sys.stdout.isatty()),
    )


def _parse_assignments(pairs: list[str]) -> dict[str, float]:
    changes: dict[str, float] = {}
    for pair in pairs:
        name, sep, weight = pair.partition("=")
        if not sep:
            raise ProfileError(f"expected VALUE=WEIGHT, got {pair!r} (for example benevolence=0.8)")
        try:
            changes[name] = decimal(weight.strip())
        except ValueError:
            raise ProfileError(f"the weight in {pair!r} is not a number between 0 and 1") from None
    return changes


def cmd_set(ctx: Context, args: argparse.Namespace) -> None:
    changes = _parse_assignments(args.assignments)
    with ctx.open_owner() as owner:
        profile, change = owner.profile.edit(changes, note=args.note or "")
    moved = ", ".join(
        f"{v} {a:.2f} -> {b:.2f}" for v, (a, b) in (change.changes.items() if change else [])
    )
    ctx.emit(
        {"weights": profile.to_dict(), "changed": change.to_dict()["changes"] if change else {}},
        f"Updated: {moved}" if moved else "Nothing changed.",
    )


def _describe(change: ProfileChange) -> str:
    when = change.at.strftime("%Y-%m-%d %H:%M:%S UTC")
    moved = ", ".join(f"{v} {a:.2f}->{b:.2f}" for v, (a, b) in change.changes.items())
    note = f"  ({change.note})" if change.note else ""
    return f"{when}  {change.source:<8} {moved or 'no change'}{note}"


def cmd_history(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.open_owner() as owner:
        history = owner.profile.history(limit=args.limit)
    ctx.emit(
        {"history": [c.to_dict() for c in history]},
        "\n".join(_describe(c) for c in history) or "No changes yet.",
    )
