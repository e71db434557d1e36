"""Merging the signatures of two copies of one accord (or one norm), checking each on the way in.

An agreement often arrives partially signed and fills up as the other parties' signatures come
in: whoever keeps it adds each new copy's signatures to the copy it holds. Only a signature that
verifies for its party on this very agreement is taken, so the merged copy never holds an
unchecked one, and it is ``complete`` (binding) exactly when every party's signature is in.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from edge_dan.negotiation.accords.accord import Accord, AccordError, SignedBody
from edge_dan.negotiation.accords.norms import Norm, NormError

Signed = TypeVar("Signed", bound=SignedBody)


def merge_accord(kept: Accord | None, incoming: Accord) -> Accord:
    """``kept`` with ``incoming``'s signatures added (a fresh unsigned copy if nothing is kept).

    :class:`AccordError` if ``incoming`` is another accord, or any of its signatures does not
    verify; then nothing of it counts.
    """
    if kept is not None and kept.id != incoming.id:
        raise AccordError("these are two different accords; their signatures do not merge")
    return _signatures_added(kept, incoming)


def merge_norm(kept: Norm | None, incoming: Norm) -> Norm:
    """``kept`` with ``incoming``'s signatures added, each checked (see :func:`merge_accord`);
    :class:`NormError` (an :class:`AccordError`) if one does not verify."""
    if kept is not None and kept.digest != incoming.digest:
        raise NormError("these are two different norms; their signatures do not merge")
    return _signatures_added(kept, incoming)


def _signatures_added(kept: Signed | None, incoming: Signed) -> Signed:
    merged = replace(incoming, signatures=()) if kept is None else kept  # (): an unsigned copy
    for signer, signature in zip(incoming.signers, incoming.signatures, strict=True):
        if signature is not None:
            merged = merged.with_signature(signer, signature)
    return merged
