"""Accords for people: read one from a file, find one by id prefix, and describe it.

What ``edge-dan accords`` shows of an accord is what its signed bytes say (the terms, the parties,
when the mediator proposed it) plus, per party, whether that party's own signature checks. Names
come from the owner's partners when a store is open; a file checked on a machine without one is
described by fingerprints only.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from edge_dan.errors import EdgeDanError, UsageError
from edge_dan.identity import IdentityError, fingerprint, verify
from edge_dan.negotiation.accords.accord import MAX_ACCORD_BYTES, Accord, AccordError

if TYPE_CHECKING:  # numpy comes with it; commands that never list accords skip it
    from edge_dan.owner.accords import StoredAccord

MIN_ID_PREFIX = 4  # hex digits: fewer would match most accords of a busy store anyway
SHORT_ID = 12  # hex digits shown in lists, as Accord.__str__ does
HEX_DIGITS = frozenset("0123456789abcdef")

Signature = Literal["valid", "invalid", "missing"]


class AccordUnreadable(EdgeDanError):
    """A file given to ``accords verify`` cannot be read, or holds no well-formed accord."""


class UnknownAccord(UsageError):
    """No stored accord's id starts with what was given."""


class AmbiguousAccord(UsageError):
    """More than one stored accord's id starts with what was given."""


def shown(path: Path | str) -> str:
    """``path`` printable on one line whatever bytes it holds (stderr is strict UTF-8)."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


MAX_REASON = 200  # characters of a decoding error shown: a hostile file can make them long


def one_line(text: str) -> str:
    """``text`` on one line, cut short if a hostile file made it long."""
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_REASON else flat[: MAX_REASON - 3] + "..."


def read_accord_file(path: Path) -> Accord:
    """The accord in ``path``, decoded strictly (signatures not checked yet).

    Only a regular file of at most ``MAX_ACCORD_BYTES`` is read: opened without blocking (a FIFO
    would otherwise wait for a writer forever), a directory or a device is refused by its type.
    """
    name = shown(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise AccordUnreadable(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise AccordUnreadable(f"{name} is not a regular file")
        if info.st_size > MAX_ACCORD_BYTES:
            raise AccordUnreadable(
                f"{name} is not an accord: {info.st_size} bytes, an accord has at most"
                f" {MAX_ACCORD_BYTES}"
            )
        data = os.read(fd, MAX_ACCORD_BYTES + 1)  # + 1: a file that grew meanwhile is too big
    except OSError as exc:
        raise AccordUnreadable(f"cannot read {name}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if not data:
        raise AccordUnreadable(f"{name} is empty, not an accord")
    try:
        return Accord.from_bytes(data)
    except AccordError as exc:
        why = one_line(str(exc))
        raise AccordUnreadable(f"{name} is not a well-formed accord: {why}") from None


def looks_like_id(text: str) -> bool:
    """Whether ``text`` could be (the start of) an accord id: hex digits only, enough of them."""
    digits = text.strip().lower()
    return len(digits) >= MIN_ID_PREFIX and set(digits) <= HEX_DIGITS


def find_accord(accords: list[StoredAccord], query: str) -> StoredAccord:
    """The one accord whose id starts with ``query`` (hex, case aside)."""
    prefix = query.strip().lower()
    if not looks_like_id(prefix):
        raise UsageError(f"an accord id is {MIN_ID_PREFIX} to 64 hex digits (its start is enough)")
    if not accords:
        raise UnknownAccord("this store holds no accords yet")
    matches = [stored for stored in accords if stored.accord_id.hex().startswith(prefix)]
    if not matches:
        raise UnknownAccord("no accord's id starts with that; 'edge-dan accords' lists them")
    if len(matches) > 1:
        raise AmbiguousAccord(
            f"{len(matches)} accords have ids starting with that; give more of the id"
        )
    return matches[0]


def signature_state(accord: Accord, position: int) -> Signature:
    """Whether party ``position``'s signature is in and checks, on its own."""
    signature = accord.signatures[position]
    if signature is None:
        return "missing"
    try:
        verify(accord.parties[position], accord.message(), signature)
    except IdentityError:
        return "invalid"
    return "valid"


def check(accord: Accord) -> str | None:
    """None if the accord binds (every signature in and checking), else why not."""
    try:
        accord.verify()
    except AccordError as exc:
        return one_line(str(exc))
    return None


def utc(time_ms: int) -> str:
    """ISO 8601 in UTC, to the second; the raw number if the time cannot be a date."""
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time_ms / 1000))
    except (OverflowError, OSError, ValueError):  # a party may sign any 64-bit time
        return f"{time_ms} ms after 1970"


@dataclass(frozen=True)
class Names:
    """Who the parties are to this owner: "you", a partner's name, or "unknown"."""

    own_key: bytes | None = None
    partners: dict[bytes, str] | None = None  # None: no store open, so no names at all

    def of(self, key: bytes) -> str | None:
        if self.partners is None:
            return None
        if key == self.own_key:
            return "you"
        return self.partners.get(key, "unknown")


def describe(accord: Accord, names: Names, stored: StoredAccord | None = None) -> dict[str, Any]:
    """The accord as ``--json`` gives it (and the text forms are made from)."""
    parties = []
    for position, key in enumerate(accord.parties):
        party: dict[str, Any] = {
            "fingerprint": fingerprint(key),
            "identity_key": key.hex(),
            "signature": signature_state(accord, position),
        }
        name = names.of(key)
        if name is not None:
            party["name"] = name
        parties.append(party)
    problem = check(accord)
    row: dict[str, Any] = {
        "id": accord.id.hex(),
        "negotiation_id": accord.negotiation_id.hex(),
        "terms": accord.terms,
        "signed_at": utc(accord.time_ms),
        "time_ms": accord.time_ms,
        "parties": parties,
        "verified": problem is None,
        "problem": problem,
    }
    if stored is not None:
        row["stored_at"] = stored.stored_at
    return row


SAYS = {"valid": "signed, checks", "invalid": "signature DOES NOT CHECK", "missing": "not signed"}


def party_line(party: dict[str, Any]) -> str:
    who = f"{party['name']:<10} " if "name" in party else ""
    return f"  {who}{party['fingerprint']}  {SAYS[party['signature']]}"


def details(row: dict[str, Any]) -> str:
    """Everything about one accord, for a person."""
    verdict = (
        "every signature checks: this accord binds its parties"
        if row["verified"]
        else f"NOT VERIFIED: {row['problem']}"
    )
    lines = [
        f"Accord {row['id']}",
        f"Signed:  {row['signed_at']} (the time in the signed proposal)",
        "Terms:",
        *(f"  {issue} = {value}" for issue, value in row["terms"].items()),
        "Parties (the first one started the negotiation):",
        *(party_line(party) for party in row["parties"]),
        f"Verdict: {verdict}",
    ]
    if "stored_at" in row:
        lines.insert(2, f"Stored:  {row['stored_at']}")
    return "\n".join(lines)
