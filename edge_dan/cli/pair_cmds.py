"""``edge-dan pair``: pair with a stranger's agent nearby.

Numeric comparison: ``--open [SECONDS]`` lets a stranger nearby pair with this agent; ``--with
[PEER]`` pairs with a stranger nearby that opened pairing. Both owners see the same six digits and
say yes only if they match; then each names the other.

QR code (two screens, one camera): ``--qr [SECONDS]`` shows a one-time QR code and its text
(``EDGEDAN:1:...``); the other device scans it, or, without a camera, its owner pastes the text:
``--scan-text TEXT`` (``-`` reads it from stdin, which keeps it out of the process list). Typed
code (a device without a screen): ``--code [SECONDS]`` shows 8 digits (5 attempts), typed on the
other device with ``--code-entry CODE`` (``-``: from stdin). The QR and the code carry no address:
the other device finds this one among the strangers nearby open to pairing. Each owner then names
the other (asked on a terminal; ``--yes --name NAME`` for scripts). See
``edge_dan.cli.pair_modes``.

Declining, a wrong code, an expired or used QR code, or no answer in time leaves the store
unchanged. Works through a running agent (``edge-dan run``) or starts one for the pairing.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable
from typing import Any

from edge_dan.cli.context import Context
from edge_dan.cli.control_protocol import Request
from edge_dan.cli.through_agent import through_agent
from edge_dan.errors import UsageError

METHOD_WORDS = {"numeric": "numeric comparison", "qr": "QR code", "code": "typed code"}

YES = frozenset({"y", "yes"})
DEFAULT_OPEN_SECONDS = 120.0
DEFAULT_WAIT_SECONDS = 30.0


def cmd_pair(ctx: Context, args: argparse.Namespace) -> None:
    modes = {
        "open": args.open,
        "with": args.with_peer,
        "qr": args.qr,
        "code": args.code,
        "scan-text": args.scan_text,
        "code-entry": args.code_entry,
    }
    chosen = [mode for mode, value in modes.items() if value is not None]
    if len(chosen) != 1:
        raise UsageError(
            "give one of --open [SECONDS], --with [PEER], --qr [SECONDS], --code [SECONDS],"
            " --scan-text TEXT or --code-entry CODE"
        )
    if args.name is not None and not args.yes:
        raise UsageError("--name goes with --yes (on a terminal you are asked for the name)")
    if not args.yes and not sys.stdin.isatty():
        raise UsageError(
            "pairing needs your answer: run it on a terminal, or give --yes (tests, automation)"
        )
    request = _request(chosen[0], args)
    result = through_agent(
        ctx, request, on_progress=_show(ctx), on_ask=_ask, interfaces=args.interface
    )
    paired = result["paired"]
    how = f" by {METHOD_WORDS[paired['method']]}" if "method" in paired else ""
    ctx.emit(result, f"Paired with {paired['name']} ({paired['fingerprint']}){how}.")


def _request(mode: str, args: argparse.Namespace) -> Request:
    """The control request for ``mode``; a QR text or code is checked before anything starts."""
    answer = {"yes": args.yes, "name": args.name}
    if mode == "open":
        return Request("pair_open", {"seconds": args.open, **answer})
    if mode == "with":
        peer = args.with_peer or None
        return Request("pair_with", {"peer": peer, "wait": args.wait, **answer})
    if mode in ("qr", "code"):
        if mode == "code":
            _need_spake2()
        seconds = args.qr if mode == "qr" else args.code
        return Request(f"pair_{mode}", {"seconds": seconds, **answer})
    if mode == "scan-text":
        text = _secret(args.scan_text, "the QR code's text")
        from edge_dan.pairing.qr import QrPayload

        _checked(QrPayload.parse, text)
        return Request("pair_scan", {"secret": text.strip(), "wait": args.wait, **answer})
    _need_spake2()
    typed = _secret(args.code_entry, "the code")
    from edge_dan.pairing.code import normalise_code

    return Request(
        "pair_code_entry",
        {"secret": _checked(normalise_code, typed), "wait": args.wait, **answer},
    )


def _secret(given: str, what: str) -> str:
    """``given``, or one line of stdin for ``-`` (a secret stays out of the process list)."""
    if given != "-":
        return given
    if sys.stdin.isatty():
        print(f"Paste {what}: ", end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline().strip()
    if not line:
        raise UsageError(f"no {what} on stdin")
    return line


def _checked(parse: Callable[[str], Any], text: str) -> Any:
    from edge_dan.wire.errors import InvalidPairingPayload

    try:
        return parse(text)
    except InvalidPairingPayload as exc:
        raise UsageError(str(exc)) from None


def _need_spake2() -> None:
    if importlib.util.find_spec("spake2") is None:
        raise UsageError(
            "code pairing needs the optional package spake2: pip install 'edge-dan[pairing]'"
        )


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
        elif kind == "qr":
            _show_qr(ctx, event)
        elif kind == "code_window":
            code = str(event["code"])
            ctx.note(
                f"Type this code on the other device: {code[:4]} {code[4:]}\n"
                f"(there: edge-dan pair --code-entry CODE; within {event['seconds']:g} s,"
                f" {event['attempts']} attempts) Waiting ..."
            )
        elif kind == "naming":
            ctx.note(f"Paired with {event['fingerprint']}: named by --name, without asking.")

    return show


def _show_qr(ctx: Context, event: dict[str, Any]) -> None:
    from edge_dan.pairing.qr import render_qr

    text = str(event["text"])
    art = None if ctx.json else render_qr(text)
    if art:
        ctx.note(art.rstrip("\n"))
    ctx.note(
        f"{text}\nScan it with the other device, or paste the text there:"
        f" edge-dan pair --scan-text -  (one use, within {event['seconds']:g} s) Waiting ..."
    )


def _ask(question: dict[str, Any]) -> dict[str, Any] | None:
    """On the terminal: do the six digits match, and what name to keep the stranger under."""
    if question.get("question") == "name":  # QR or typed code: the pairing itself is done
        how = METHOD_WORDS.get(str(question.get("method")), "")
        print(
            f"\nThe device {question['fingerprint']} paired by {how}.\n"
            "Name to keep them under (empty declines): ",
            end="",
            file=sys.stderr,
            flush=True,
        )
        name = sys.stdin.readline().strip()
        return {"name": name} if name else None
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
