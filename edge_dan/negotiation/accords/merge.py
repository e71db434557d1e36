"""Merging the signatures of two copies of one accord (or one norm), checking each on the way in.

An agreement often arrives partially signed and fills up as the other parties' signatures come
in: whoever keeps it adds each new copy's signatures to the copy it holds. Only a signature that
verifies for its party on this very agreement is taken, so the merged copy never holds an
unchecked one, and it is ``complete`` (binding) exactly when every party's signature is in.
"""

from __future__ import annotations

from edge_dan.negotiation.accords.accord import Accord, AccordError
from edge_dan.negotiation.accords.norms import Norm, NormError


def merge_accord(kept: Accord | None, incoming: Accord) -> Accord:
    """``kept`` with ``incoming``'s signatures added (a fresh unsigned copy if nothing is kept).

    :class:`AccordError` if ``incoming`` is another accord, or any of its signatures does not
    verify; then nothing of it counts.
    """
    if kept is None:
        kept = Accord(
            incoming.negotiation_id,
            incoming.parties,
            incoming.outcome,
            incoming.time_ms,
            incoming.space_digest,
        )
    elif kept.id != incoming.id:
        raise AccordError("these are two different accords; their signatures do not merge")
    merged = kept
    for party, signature in zip(incoming.parties, incoming.signatures, strict=True):
        if signature is not None:
            merged = merged.with_signature(party, signature)
    return merged


def merge_norm(kept: Norm | None, incoming: Norm) -> Norm:
    """``kept`` with ``incoming``'s signatures added, each checked (see :func:`merge_accord`);
    :class:`NormError` (an :class:`AccordError`) if one does not verify."""
    if kept is None:
        kept = Norm(
            group_id=incoming.group_id,
            name=incoming.name,
            issue=incoming.issue,
            forbidden=incoming.forbidden,
            members=incoming.members,
            time_ms=incoming.time_ms,
        )
    elif kept.digest != incoming.digest:
        raise NormError("these are two different norms; their signatures do not merge")
    merged = kept
    for member, signature in zip(incoming.members, incoming.signatures, strict=True):
        if signature is not None:
            merged = merged.with_signature(member, signature)
    return merged
