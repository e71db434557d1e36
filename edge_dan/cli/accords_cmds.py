"""``edge-dan accords``: the signed accords the owner is party to; list, show, verify, export.

ID is an accord id or its start (at least four hex digits), as ``accords`` lists it; one that
matches no accord, or several, is an error (exit 2), like a partner's name in ``partners``.

``verify FILE`` is the one command that needs no store: an accord carries everything needed to
check it (the parties' public keys and their signatures on the canonical body), so it is checked
offline, by anyone, without a passphrase. A file that is no accord, or one whose signatures do not
all check, fails with exit 1. ``export`` writes ``Accord.to_bytes()``: the very bytes the store
keeps and every party signed (their signatures cover a context string and the body inside it),
not a re-encoding, so what is exported is what ``verify`` and ``Accord.from_bytes`` read back.
"""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from edge_dan.cli.accord_view import (
    Names,
    describe,
    details,
    find_accord,
    looks_like_id,
    read_accord_file,
    shown,
)
from edge_dan.cli.context import Context
from edge_dan.errors import EdgeDanError, StoreError, StoreExists, UsageError
from edge_dan.owner import Owner
from edge_dan.store.files import atomic_write, write_private
from edge_dan.store.store import Store

if TYPE_CHECKING:  # numpy comes with it; commands that never list accords skip it
    from edge_dan.owner.accords import StoredAccord


class NotVerified(EdgeDanError):
    """An accord was read, but not every party's signature on it is in and checks."""


def _names(owner: Owner) -> Names:
    partners = {peer.identity_key: peer.name for peer in owner.peers.list()}
    return Names(own_key=owner.identity.ensure().public_key, partners=partners)


def _stored(ctx: Context, query: str) -> tuple[StoredAccord, Names]:
    with ctx.open_owner() as owner:
        return find_accord(owner.accords.list(), query), _names(owner)


def cmd_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.open_owner() as owner:
        accords, names = owner.accords.list(), _names(owner)
    rows = [describe(stored.accord, names, stored) for stored in accords]
    lines = [f"{'ID':<12}  {'SIGNED (UTC)':<19}  {'STATUS':<8}  WITH: TERMS"]
    for row in rows:
        others = [p["name"] for p in row["parties"] if p["name"] != "you"] or ["you alone"]
        terms = "; ".join(f"{issue} = {value}" for issue, value in row["terms"].items())
        status = "verified" if row["verified"] else "NOT VERIFIED"
        when = row["signed_at"][:19].replace("T", " ")
        lines.append(f"{row['id'][:12]}  {when:<19}  {status:<8}  {', '.join(others)}: {terms}")
    text = "\n".join(lines) if rows else "No accords yet."
    ctx.emit({"accords": rows}, text)


def cmd_show(ctx: Context, args: argparse.Namespace) -> None:
    stored, names = _stored(ctx, args.accord_id)
    row = describe(stored.accord, names, stored)
    ctx.emit({"accord": row}, details(row))


def cmd_verify(ctx: Context, args: argparse.Namespace) -> None:
    target: str = args.file
    path = Path(target)
    if not os.path.lexists(path) and looks_like_id(target):
        if not Store.exists(ctx.home):
            raise UsageError(
                f"{shown(path)}: no such file, and no store in {shown(ctx.home)} to look an"
                " accord id up in"
            )
        stored, names = _stored(ctx, target)
        row = describe(stored.accord, names, stored)
        source = {"store": str(ctx.home)}
    else:
        # Offline: no store is opened and no passphrase asked; the fingerprints say who signed.
        row = describe(read_accord_file(path), Names())
        source = {"file": target}
    ctx.emit({"accord": row, "source": source}, details(row))
    if not row["verified"]:
        raise NotVerified(f"accord {row['id'][:12]} does not verify: {row['problem']}")


def _export_target(given: str, force: bool) -> Path:
    """Where ``export`` may write: a file name, new unless ``force``; never a directory."""
    target = Path(given)
    names_a_directory = given.endswith(os.sep) or target.name in ("", ".", "..")
    try:
        info = target.lstat()  # the name itself: a symlink is not followed
    except FileNotFoundError:
        info = None
    except OSError as exc:  # a name too long, a component that is a file, no permission
        raise StoreError(f"cannot write {shown(target)}: {exc.strerror or exc}") from None
    if names_a_directory or (info is not None and stat.S_ISDIR(info.st_mode)):
        raise StoreError(f"{shown(given)} is a directory; give the name of a file to write")
    if info is not None and not force:
        raise StoreExists(f"{shown(target)} exists; add --force to overwrite it")
    return target


def cmd_export(ctx: Context, args: argparse.Namespace) -> None:
    target = _export_target(args.file, args.force)
    stored, _ = _stored(ctx, args.accord_id)
    data = stored.accord.to_bytes()
    if args.force:
        # A fresh file renamed over the old name: a symlink there is replaced, never followed.
        atomic_write(target, data)
    else:
        write_private(target, data)  # O_EXCL | O_NOFOLLOW: refuses whatever appeared meanwhile
    accord_id = stored.accord_id.hex()
    if not stored.complete:
        ctx.note("note: this accord is not binding yet: not every party has signed it")
    ctx.emit(
        {"exported": {"id": accord_id, "file": str(target), "bytes": len(data)}},
        f"Accord {accord_id[:12]} written to {shown(target)} ({len(data)} bytes); anyone can"
        f" check it with 'edge-dan accords verify {shown(target)}'.",
    )
