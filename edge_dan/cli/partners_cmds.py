"""``edge-dan partners``: the agents this one is paired with; list, rename, unpair.

Works on the store directly (a running agent is not told yet). PEER is a partner's name (case
aside) or the start of its fingerprint; one that matches no partner, or several, is an error that
names none of them. Unpairing deletes the partner's keys and replaces our advertising key in one
transaction (``Peers.remove``), so it is asked for on a terminal and needs ``--yes`` elsewhere.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from edge_dan.cli.context import Context
from edge_dan.errors import UsageError
from edge_dan.owner.errors import UnknownPeer
from edge_dan.owner.peers import Peer

YES = frozenset({"y", "yes"})


def _row(peer: Peer, recognisable: bool) -> dict[str, Any]:
    return {
        "name": peer.name,
        "fingerprint": peer.fingerprint,
        "identity_key": peer.identity_key.hex(),
        "paired_at": peer.paired_at,
        "method": peer.method,
        "recognisable": recognisable,
    }


def cmd_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.open_owner() as owner:
        peers = owner.peers.list()
        keys = owner.advertising.partner_keys()
    rows = [_row(peer, peer.identity_key in keys) for peer in peers]
    width = max([len("NAME"), *(len(row["name"]) for row in rows)])
    lines = [f"{'NAME':<{width}}  {'FINGERPRINT':<39}  {'PAIRED (UTC)':<19}  HOW"]
    for row in rows:
        when = row["paired_at"][:19].replace("T", " ")
        waiting = "" if row["recognisable"] else "  (its advertising key has not arrived yet)"
        name, fpr, method = row["name"], row["fingerprint"], row["method"]
        lines.append(f"{name:<{width}}  {fpr:<39}  {when:<19}  {method}{waiting}")
    text = "\n".join(lines) if rows else "No partners yet."
    ctx.emit({"partners": rows}, text)


def cmd_rename(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.open_owner() as owner:
        peer = owner.peers.find(args.peer)
        renamed = owner.peers.rename(peer.identity_key, args.name)
    ctx.emit(
        {"renamed": {"fingerprint": renamed.fingerprint, "from": peer.name, "to": renamed.name}},
        f"Renamed {peer.name} ({renamed.fingerprint}) to {renamed.name}.",
    )


def cmd_unpair(ctx: Context, args: argparse.Namespace) -> None:
    interactive = sys.stdin.isatty()
    if not args.yes and not interactive:
        # Checked before the store is opened: nothing is read, nothing can change.
        raise UsageError("unpairing needs confirmation: run it on a terminal or give --yes")
    with ctx.open_owner() as owner:
        peer = owner.peers.find(args.peer)
        if not args.yes and not _confirmed(peer):
            raise UsageError("not unpaired; nothing changed")
        if not owner.peers.remove(peer.identity_key):  # unpaired meanwhile, by another process
            raise UnknownPeer("no partner has that name or fingerprint")
    ctx.emit(
        {
            "unpaired": {"name": peer.name, "fingerprint": peer.fingerprint},
            "advertising_key_replaced": True,
        },
        f"Unpaired {peer.name} ({peer.fingerprint}). Your advertising key was replaced: "
        "it no longer recognises you; your other partners get the new key at their next session.",
    )


def _confirmed(peer: Peer) -> bool:
    # The question goes to stderr, so stdout stays clean for --json.
    print(
        f"Unpair {peer.name} ({peer.fingerprint})? Its keys are deleted and your advertising key"
        " is replaced. [y/N] ",
        end="",
        file=sys.stderr,
        flush=True,
    )
    reply = sys.stdin.readline()
    return reply.strip().lower() in YES
