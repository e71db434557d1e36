"""``edge-dan negotiate``: decide something with partners nearby; the result in plain words.

Free-text ``--option`` texts are judged by the value model through each owner's values;
``--issue NAME=A,B,C`` adds an issue whose values this owner lists from most to least preferred
(partners judge it by their own agents' lights). The agent mediates (or, with one partner,
alternates offers with ``--protocol ao``); every party signs the accord and keeps it.
"""

from __future__ import annotations

import argparse
from typing import Any

from edge_dan.cli.context import Context
from edge_dan.cli.control_protocol import Request
from edge_dan.cli.outcome_text import describe
from edge_dan.cli.through_agent import through_agent
from edge_dan.errors import EdgeDanError, UsageError


class NoAgreement(EdgeDanError):
    """The negotiation ended without an accord (the summary says why)."""


def parse_issue(text: str) -> tuple[str, list[str]]:
    """``NAME=A,B,C`` as (name, values)."""
    name, sep, values = text.partition("=")
    listed = [v.strip() for v in values.split(",")]
    if not sep or not name.strip() or len(listed) < 2 or not all(listed):
        raise argparse.ArgumentTypeError(f"expected NAME=A,B[,C...], got {text!r}")
    return name.strip(), listed


def cmd_negotiate(ctx: Context, args: argparse.Namespace) -> None:
    issues = dict(args.issue or [])
    if len(issues) != len(args.issue or []):
        raise UsageError("an --issue is named twice")
    request = Request(
        "negotiate",
        {
            "topic": args.topic,
            "options": args.option or [],
            "issues": issues,
            "partners": args.with_peer,
            "deadline": args.deadline,
            "protocol": args.protocol,
            "wait": args.wait,
        },
    )
    summary = through_agent(
        ctx,
        request,
        on_progress=_show(ctx),
        on_ask=lambda question: None,
        needs_model=bool(args.option),
        interfaces=args.interface,
    )
    ctx.emit(summary, describe(summary))
    if not summary["agreed"]:
        raise NoAgreement("no agreement; nothing was signed")


def _show(ctx: Context) -> Any:
    def show(event: dict[str, Any]) -> None:
        kind = event.get("event")
        names = ", ".join(event.get("partners", []))
        if kind == "waiting":
            ctx.note(f"Waiting for {names} to be seen nearby ...")
        elif kind == "negotiating":
            ctx.note(f"Negotiating with {names} ...")

    return show
