"""``owner.accords``: the signed accords this owner is party to, as the exact bytes signed.

Each is kept as ``Accord.to_bytes()``, so it can be shown to anyone and verified offline later,
under its ``Accord.id``. Adding one that is already kept adds its signatures to the kept copy
(``edge_dan.negotiation.accords.merge.merge_accord``: an accord often arrives partially signed
and fills up as the other parties' signatures come in); every signature is checked before it is
kept, and an accord is marked ``complete`` (binding) only when all of them are in.

Negotiation ids are unique per pair of parties: a different accord under the negotiation id of
one already kept, with two or more of the same parties, is refused (``NegotiationIdReused``), so
a replayed negotiation cannot bind anyone twice. (Not a unique index: the parties are inside the
signed bytes, and one id may be shared by accords of disjoint pairs.)
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from edge_dan.negotiation import Accord
from edge_dan.negotiation.accords.merge import merge_accord
from edge_dan.owner.errors import NegotiationIdReused
from edge_dan.owner.signed import SignedKind
from edge_dan.store.store import Store, now_iso

_SELECT = "SELECT accord_id, data, complete, stored_at FROM accords"


@dataclass(frozen=True)
class StoredAccord:
    accord_id: bytes
    accord: Accord
    complete: bool
    stored_at: str


_KIND = SignedKind(
    "accord", "SELECT data FROM accords WHERE accord_id = ?", Accord.from_bytes, merge_accord
)


class Accords:
    """Accords by id, newest first."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, accord: Accord) -> StoredAccord:
        """Keep ``accord`` (or add its signatures to the kept copy); every signature is checked,
        ``AgreementRejected`` (and nothing changes) if one does not verify."""
        key = accord.id
        with self._store.transaction() as conn:
            rows = conn.execute(
                "SELECT accord_id, data FROM accords WHERE negotiation_id = ? AND accord_id != ?",
                (accord.negotiation_id, key),
            ).fetchall()
            for _, data in rows:
                if _shared_pair(_KIND.load(self._store.path, bytes(data)), accord):
                    raise NegotiationIdReused(
                        f"accord not stored: negotiation id {accord.negotiation_id.hex()} was"
                        " already used for another accord between the same parties"
                    )
            merged = _KIND.merged(conn, self._store.path, key, accord)
            conn.execute(
                "INSERT INTO accords (accord_id, negotiation_id, time_ms, complete, data,"
                " stored_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (accord_id) DO UPDATE SET"
                " complete = excluded.complete, data = excluded.data",
                (
                    key,
                    merged.negotiation_id,
                    merged.time_ms,
                    int(merged.complete),  # every slot filled, each one verified on the way in
                    merged.to_bytes(),
                    now_iso(),
                ),
            )
        stored = self.get(key)
        assert stored is not None  # written just above, in a committed transaction
        return stored

    def negotiation_used(self, negotiation_id: bytes, parties: builtins.list[bytes]) -> bool:
        """Whether an accord kept under ``negotiation_id`` has two or more of ``parties``."""
        rows = self._store.fetch_all(
            "SELECT data FROM accords WHERE negotiation_id = ?", (bytes(negotiation_id),)
        )
        wanted = set(parties)
        return any(
            len(wanted.intersection(_KIND.load(self._store.path, bytes(row[0])).parties)) >= 2
            for row in rows
        )

    def get(self, accord_id: bytes) -> StoredAccord | None:
        row = self._store.fetch_one(_SELECT + " WHERE accord_id = ?", (bytes(accord_id),))
        return None if row is None else self._stored(row)

    def list(self, *, binding_only: bool = False) -> builtins.list[StoredAccord]:
        """Accords, newest first; ``binding_only`` keeps the fully signed ones."""
        rows = self._store.fetch_all(
            _SELECT + " WHERE complete = 1 OR NOT ? ORDER BY time_ms DESC, accord_id",
            (int(binding_only),),
        )
        return [self._stored(row) for row in rows]

    def _stored(self, row: tuple[bytes, bytes, int, str]) -> StoredAccord:
        key, data, complete, stored_at = row
        return StoredAccord(
            bytes(key), _KIND.load(self._store.path, bytes(data)), bool(complete), str(stored_at)
        )


def _shared_pair(kept: Accord, incoming: Accord) -> bool:
    return len(set(kept.parties).intersection(incoming.parties)) >= 2
