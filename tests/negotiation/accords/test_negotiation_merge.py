"""Merging the signatures of two copies of one accord or norm: only checked ones get in."""

from __future__ import annotations

from dataclasses import replace

import pytest

from edge_dan.identity import Identity
from edge_dan.negotiation import Accord, AccordError, DiscreteIssue, OutcomeSpace
from edge_dan.negotiation.accords.merge import merge_accord, merge_norm
from edge_dan.negotiation.accords.norms import Norm, NormError

SPACE = OutcomeSpace([DiscreteIssue("music", ("off", "quiet", "loud"))])


def accord(*parties: Identity, outcome: str = "quiet") -> Accord:
    return Accord.of(bytes(16), [p.public_key for p in parties], SPACE, (outcome,), 1_000)


def signed(a: Accord, *signers: Identity) -> Accord:
    for signer in signers:
        a = a.with_signature(signer.public_key, a.sign(signer))
    return a


def test_signatures_from_separate_copies_add_up() -> None:
    a, b, c = (Identity.generate() for _ in range(3))
    base = accord(a, b, c)
    kept = merge_accord(None, signed(base, a))
    assert kept.missing == (b.public_key, c.public_key)
    kept = merge_accord(kept, signed(base, c))
    kept = merge_accord(kept, signed(base, b))
    assert kept.complete and kept.id == base.id
    kept.verify()
    # A copy with fewer signatures takes none away.
    assert merge_accord(kept, base) == kept


def test_a_forged_signature_is_refused_even_on_a_first_copy() -> None:
    a, b = Identity.generate(), Identity.generate()
    forged = replace(accord(a, b), signatures=(None, b"\x01" * 64))
    with pytest.raises(AccordError, match="does not verify"):
        merge_accord(None, forged)
    # A signature made for another outcome does not count for this one.
    moved = replace(accord(a, b), signatures=(None, accord(a, b, outcome="loud").sign(b)))
    with pytest.raises(AccordError):
        merge_accord(signed(accord(a, b), a), moved)


def test_two_different_accords_do_not_merge() -> None:
    a, b = Identity.generate(), Identity.generate()
    with pytest.raises(AccordError, match="different accords"):
        merge_accord(signed(accord(a, b), a), signed(accord(a, b, outcome="off"), b))


def test_norm_signatures_merge_the_same_way() -> None:
    a, b = Identity.generate(), Identity.generate()
    norm = Norm(
        group_id=bytes(16),
        name="quiet hours",
        issue="music",
        forbidden=("loud",),
        members=(a.public_key, b.public_key),
        time_ms=1,
    )
    kept = merge_norm(None, norm.with_signature(a.public_key, norm.sign(a)))
    assert kept.missing == (b.public_key,)
    kept = merge_norm(kept, norm.with_signature(b.public_key, norm.sign(b)))
    assert kept.missing == ()
    kept.verify()
    with pytest.raises(NormError):
        merge_norm(None, replace(norm, signatures=(b"\x02" * 64, None)))
    other = replace(norm, name="other", signatures=())
    with pytest.raises(NormError, match="different norms"):
        merge_norm(kept, other)
