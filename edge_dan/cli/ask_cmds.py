"""``edge-dan feedback --ask OPTION ...``: Little Dan asks the questions that teach it most.

Given the options the owner is weighing, Little Dan picks the pair whose answer would tell it the
most about the owner's values (``values.questions.next_question``), asks "which would you rather
do?", keeps the answer like ``--prefer A --over B`` and asks again, up to ``--rounds`` times.
Options it refuses as harmful are never put to the owner as a choice. Answers are read line by
line from stdin (a terminal or a pipe): ``1`` or ``2`` picks, ``s`` skips a question (neither or
can't say: nothing is kept), ``q`` or the end of input stops. Questions go to stdout, never to
stderr (option texts are private and stderr ends up in logs); under ``--json`` each question is
one JSON line (``{"question": n, "options": [A, B]}``) before the summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from edge_dan.cli.context import Context
from edge_dan.errors import UsageError

if TYPE_CHECKING:
    from edge_dan.model import ValueModel

# Without --rounds: enough to move a new owner's ranking, few enough to answer in a minute.
DEFAULT_ROUNDS = 3


def _say(ctx: Context, text: str, data: dict[str, object] | None = None) -> None:
    if ctx.json:
        if data is not None:
            print(json.dumps(data, ensure_ascii=False), flush=True)
    else:
        print(text, flush=True)


def _reply() -> str | None:
    line = sys.stdin.readline()
    return None if not line else line.strip().lower()


def feedback_ask(ctx: Context, args: argparse.Namespace, model: ValueModel) -> None:
    from edge_dan.values.judgement import refusals
    from edge_dan.values.questions import next_question
    from edge_dan.values.ranking import clean_options

    rounds = DEFAULT_ROUNDS if args.rounds is None else args.rounds
    options = clean_options(args.ask)
    judgements = model.judge(options)
    with ctx.open_owner() as owner:
        # the same refusals as `score`: harmful options are out unless the owner contested them
        allowed, _ = refusals(judgements, options, contested=owner.contests.option_keys())
        if len(allowed) < 2:
            raise UsageError("give at least two options Little Dan does not refuse as harmful")
        effects = [judgements[i].effects for i in allowed]
        kept: list[dict[str, object]] = []
        asked: list[tuple[int, int]] = []
        personal = owner.feedback.model()
        while len(asked) < rounds:
            question = next_question(personal, effects, asked=asked)
            if question is None:
                break
            asked.append(question)
            a, b = (options[allowed[k]] for k in question)
            _say(
                ctx,
                f"\nWhich would you rather do?\n  1) {a}\n  2) {b}\n"
                "1 or 2; s skips (neither, or can't say); q stops",
                {"question": len(asked), "options": [a, b]},
            )
            reply = _reply()
            while reply is not None and reply not in {"1", "2", "s", "q"}:
                _say(ctx, "please answer 1, 2, s or q")
                reply = _reply()
            if reply in (None, "q"):
                break
            if reply == "s":
                continue
            k_pref, k_rej = question if reply == "1" else question[::-1]
            preferred, rejected = options[allowed[k_pref]], options[allowed[k_rej]]
            outcome = owner.feedback.add(
                preferred,
                rejected,
                list(effects[k_pref]),
                list(effects[k_rej]),
                tier=model.tier,
            )
            personal = outcome.after
            kept.append({"id": outcome.answer.id, "preferred": preferred, "rejected": rejected})
    refused = len(options) - len(allowed)
    text = f"Kept {len(kept)} answer{'s' if len(kept) != 1 else ''} ({personal.pairs} in all)."
    if refused:
        text += f" {refused} refused option{'s were' if refused != 1 else ' was'} not asked about."
    ctx.emit(
        {"kept": kept, "asked": len(asked), "answers": personal.pairs, "refused": refused}, text
    )
