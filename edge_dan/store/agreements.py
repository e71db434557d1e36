"""Accords and group norms in the encrypted store.

Each is kept as the exact bytes the parties signed (``to_bytes``), so it can be shown to anyone
and verified offline later. Saving the same agreement again merges signatures: an accord often
arrives partially signed and fills up as the other parties' signatures come in. Every signature
is checked before it is stored; an accord or norm is marked ``complete`` (binding) only when all
of them are in and verify.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_dan.errors import StoreCorrupt, StoreError
from edge_dan.negotiation.accords.accord import Accord, AccordError
from edge_dan.negotiation.accords.norms import GroupNorms, Norm
from edge_dan.store.sqlcipher import translated
from edge_dan.store.store import Store, now_iso


class AgreementRejected(StoreError):
    """An accord or norm carries a signature that does not verify; nothing was stored."""


@dataclass(frozen=True)
class StoredAccord:
    accord_id: bytes
    accord: Accord
    complete: bool
    stored_at: str


def accord_id(accord: Accord) -> bytes:
    """The key accords are stored under: ``Accord.id``."""
    return accord.id


def _merge_accord(old: Accord | None, new: Accord) -> Accord:
    """``new``'s signatures (each checked) added to ``old``'s."""
    merged = (
        old
        if old is not None
        else Accord(new.negotiation_id, new.parties, new.outcome, new.time_ms, new.space_digest)
    )
    for party, signature in zip(new.parties, new.signatures, strict=True):
        if signature is None:
            continue
        try:
            merged = merged.with_signature(party, signature)
        except AccordError as exc:
            raise AgreementRejected(f"accord not stored: {exc}") from exc
    return merged


def save_accord(store: Store, accord: Accord) -> StoredAccord:
    """Store ``accord`` (or add its signatures to the stored copy); every signature is checked."""
    key = accord_id(accord)
    with store.transaction() as conn:
        row = conn.execute("SELECT data FROM accords WHERE accord_id = ?", (key,)).fetchone()
        old = None if row is None else _load_accord(store, bytes(row[0]))
        merged = _merge_accord(old, accord)
        complete = merged.complete  # every slot filled, each filled one verified on the way in
        conn.execute(
            "INSERT INTO accords (accord_id, negotiation_id, time_ms, complete, data, stored_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (accord_id) DO UPDATE SET"
            " complete = excluded.complete, data = excluded.data",
            (
                key,
                merged.negotiation_id,
                merged.time_ms,
                int(complete),
                merged.to_bytes(),
                now_iso(),
            ),
        )
    stored = get_accord(store, key)
    assert stored is not None  # written just above, in a committed transaction
    return stored


def get_accord(store: Store, key: bytes) -> StoredAccord | None:
    with translated(store.path):
        row = store.conn.execute(
            "SELECT accord_id, data, complete, stored_at FROM accords WHERE accord_id = ?",
            (bytes(key),),
        ).fetchone()
    return None if row is None else _stored(store, row)


def list_accords(store: Store, *, binding_only: bool = False) -> list[StoredAccord]:
    """Accords, newest first; ``binding_only`` keeps the fully signed ones."""
    with translated(store.path):
        rows = store.conn.execute(
            "SELECT accord_id, data, complete, stored_at FROM accords"
            " WHERE complete = 1 OR NOT ? ORDER BY time_ms DESC, accord_id",
            (int(binding_only),),
        ).fetchall()
    return [_stored(store, row) for row in rows]


def _stored(store: Store, row: tuple[bytes, bytes, int, str]) -> StoredAccord:
    key, data, complete, stored_at = row
    return StoredAccord(
        bytes(key), _load_accord(store, bytes(data)), bool(complete), str(stored_at)
    )


def _load_accord(store: Store, data: bytes) -> Accord:
    try:
        return Accord.from_bytes(data)
    except AccordError as exc:  # we wrote it: unreadable bytes mean damage, not bad input
        raise StoreCorrupt(f"{store.path}: a stored accord is unreadable ({exc})") from exc


# -- norms ---------------------------------------------------------------------------------------


def save_norm(store: Store, norm: Norm) -> bool:
    """Store ``norm`` (merging signatures with the stored copy); True once it is binding."""
    key = norm.digest()
    with store.transaction() as conn:
        row = conn.execute("SELECT data FROM norms WHERE norm_id = ?", (key,)).fetchone()
        merged = _merge_norm(None if row is None else _load_norm(store, bytes(row[0])), norm)
        complete = not merged.missing()
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


def _merge_norm(old: Norm | None, new: Norm) -> Norm:
    merged = (
        old
        if old is not None
        else Norm(
            group_id=new.group_id,
            name=new.name,
            issue=new.issue,
            forbidden=new.forbidden,
            members=new.members,
            time_ms=new.time_ms,
        )
    )
    for member, signature in zip(new.members, new.signatures, strict=True):
        if signature is None:
            continue
        try:
            merged = merged.with_signature(member, signature)
        except AccordError as exc:
            raise AgreementRejected(f"norm not stored: {exc}") from exc
    return merged


def group_norms(store: Store, group_id: bytes) -> GroupNorms:
    """The binding norms of a group, oldest first, ready to become red lines."""
    with translated(store.path):
        rows = store.conn.execute(
            "SELECT data FROM norms WHERE group_id = ? AND complete = 1 ORDER BY time_ms, norm_id",
            (bytes(group_id),),
        ).fetchall()
    return GroupNorms(bytes(group_id), (_load_norm(store, bytes(row[0])) for row in rows))


def _load_norm(store: Store, data: bytes) -> Norm:
    try:
        return Norm.from_bytes(data)
    except AccordError as exc:
        raise StoreCorrupt(f"{store.path}: a stored norm is unreadable ({exc})") from exc
