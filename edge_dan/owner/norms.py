"""``owner.norms``: the norms of the groups this owner belongs to, as the exact bytes signed.

Like accords (``edge_dan.owner.accords``): kept under ``Norm.digest``, signatures merged as they
arrive (``edge_dan.negotiation.accords.merge.merge_norm``), each checked first; a norm binds
(becomes a red line in the group's negotiations) only once every member has signed.
"""

from __future__ import annotations

from edge_dan.negotiation.accords.merge import merge_norm
from edge_dan.negotiation.accords.norms import GroupNorms, Norm
from edge_dan.owner.signed import SignedKind
from edge_dan.store.store import Store, now_iso

_KIND = SignedKind("norm", "SELECT data FROM norms WHERE norm_id = ?", Norm.from_bytes, merge_norm)


class Norms:
    """Norms by digest, found by group."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, norm: Norm) -> bool:
        """Keep ``norm`` (merging signatures with the kept copy); True once it is binding.
        ``AgreementRejected`` (and nothing changes) if a signature does not verify."""
        key = norm.digest
        with self._store.transaction() as conn:
            merged = _KIND.merged(conn, self._store.path, key, norm)
            complete = not merged.missing
            conn.execute(
                "INSERT INTO norms (norm_id, group_id, name, time_ms, complete, data, stored_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (norm_id) DO UPDATE SET"
                " complete = excluded.complete, data = excluded.data",
                (
                    key,
                    merged.group_id,
                    merged.name,
                    merged.time_ms,
                    int(complete),
                    merged.to_bytes(),
                    now_iso(),
                ),
            )
        return complete

    def of_group(self, group_id: bytes) -> GroupNorms:
        """The binding norms of a group, oldest first, ready to become red lines."""
        rows = self._store.fetch_all(
            "SELECT data FROM norms WHERE group_id = ? AND complete = 1 ORDER BY time_ms, norm_id",
            (bytes(group_id),),
        )
        return GroupNorms(
            bytes(group_id), (_KIND.load(self._store.path, bytes(row[0])) for row in rows)
        )
