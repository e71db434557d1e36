"""What ``owner.accords`` and ``owner.norms`` share: a signed agreement kept as its exact bytes.

Each kind is kept in a table of its own, under its key, as the bytes its signers signed; a copy
that arrives is merged with the kept one (its new signatures checked and added) inside the
caller's transaction, before the caller writes the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from edge_dan.errors import StoreCorrupt
from edge_dan.negotiation.accords.accord import AccordError
from edge_dan.owner.errors import AgreementRejected
from edge_dan.store.sqlcipher import Connection

Agreement = TypeVar("Agreement")


@dataclass(frozen=True)
class SignedKind(Generic[Agreement]):
    """How one kind of agreement is kept: its name in messages, the query for its kept bytes by
    key, how to parse them and how to merge two copies (see ``negotiation.accords.merge``)."""

    what: str  # "accord", "norm"
    select_data: str  # SQL: the kept bytes under one key
    parse: Callable[[bytes], Agreement]
    merge: Callable[[Agreement | None, Agreement], Agreement]

    def load(self, path: Path, data: bytes) -> Agreement:
        """Parse bytes read from the store at ``path``."""
        try:
            return self.parse(data)
        except AccordError as exc:  # we wrote it: unreadable bytes mean damage, not bad input
            raise StoreCorrupt(f"{path}: a stored {self.what} is unreadable ({exc})") from exc

    def merged(self, conn: Connection, path: Path, key: bytes, incoming: Agreement) -> Agreement:
        """``incoming`` merged with the copy kept under ``key``; ``AgreementRejected`` if one of
        its signatures does not verify."""
        row = conn.execute(self.select_data, (key,)).fetchone()
        kept = None if row is None else self.load(path, bytes(row[0]))
        try:
            return self.merge(kept, incoming)
        except AccordError as exc:
            raise AgreementRejected(f"{self.what} not stored: {exc}") from exc
