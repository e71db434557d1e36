"""``edge-dan pair``: pair with a stranger's agent by numeric comparison.

``--open [SECONDS]`` lets a stranger nearby pair with this agent; ``--with [PEER]`` pairs with a
stranger nearby that opened pairing. Both owners see the same six digits and say yes only if they
match; then each names the other. Declining, or no answer in time, leaves the store unchanged.
Works through a running agent (``edge-dan run``) or starts one for the pairing.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from edge_dan.cli.context import Context
from edge_dan.cli.control_protocol import Request
from edge_dan.cli.through_agent import through_agent
from edge_dan.errors import UsageError

YES = frozenset({"y", "yes"})
DEFAULT_OPEN_SECONDS = 120.0
DEFAULT_WAIT_SECONDS = 30.0


def cmd_pair(ctx: Context, args: argparse.Namespace) -> None:
    opening = args.open is not None
    if opening == (args.with_peer is not None):
        raise UsageError("give one of --open [SECONDS] or --with [PEER]")
    if args.name is not None and not args.yes:
        raise UsageError("--name goes with --yes (on a terminal you are asked for the name)")
    if not args.yes and not sys.stdin.isatty():
        raise UsageError(
            "pairing needs your answer: run it on a terminal, or give --yes (tests, automation)"
        )
    if opening:
        request = Request("pair_open", {"seconds": args.open, "yes": args.yes, "name": args.name})
    else:
        peer = args.with_peer or None
        request = Request(
            "pair_with", {"peer": peer, "wait": args.wait, "yes": args.yes, "name": args.name}
        )
    result = through_agent(
        ctx, request, on_progress=_show(ctx), on_ask=_ask, interfaces=args.interface
    )
    paired = result["paired"]
    ctx.emit(result, f"Paired with {paired['name']} ({paired['fingerprint']}).")


def _show(ctx: Context) -> Any:
    def show(event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "pairing_open":
            ctx.note(f"Open to pairing for {event['seconds']:g} s; waiting for a stranger ...")
        elif kind == "looking":
            ctx.note("Looking for a stranger nearby who opened pairing ...")
        elif kind == "code":
            ctx.note(
                f"Code {event['code']} for {event['fingerprint']}: confirmed by --yes,"
                " without comparing."
            )

    return show


def _ask(question: dict[str, Any]) -> dict[str, Any] | None:
    """On the terminal: do the six digits match, and what name to keep the stranger under."""
    print(
        f"\nA stranger wants to pair: fingerprint {question['fingerprint']}\n"
        f"Code: {question['code']}\n"
        "Does the other device show the same six digits? [y/N] ",
        end="",
        file=sys.stderr,
        flush=True,
    )
    if sys.stdin.readline().strip().lower() not in YES:
        return None
    print("Name to keep them under: ", end="", file=sys.stderr, flush=True)
    name = sys.stdin.readline().strip()
    return {"name": name} if name else None
