"""The owner's accords and norms: signatures merge, only checked ones get in."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from edge_dan.errors import StoreCorrupt
from edge_dan.identity import Identity
from edge_dan.negotiation import Accord, DiscreteIssue, IntegerIssue, OutcomeSpace
from edge_dan.negotiation.accords.norms import Norm
from edge_dan.owner import AgreementRejected, NegotiationIdReused, Owner
from edge_dan.store import KdfParams

SPACE = OutcomeSpace(
    [DiscreteIssue("music", ("off", "quiet", "loud")), IntegerIssue("hour", 17, 23)]
)
GROUP = bytes(range(16))


def unsigned(parties: list[Identity], nid: bytes = bytes(16), t: int = 1_000) -> Accord:
    return Accord.of(nid, [p.public_key for p in parties], SPACE, ("quiet", 20), t)


def signed_by(accord: Accord, *signers: Identity) -> Accord:
    for signer in signers:
        accord = accord.with_signature(signer.public_key, accord.sign(signer))
    return accord


def test_signatures_arriving_one_by_one_make_the_accord_binding(
    tmp_path: Path, fast_kdf: KdfParams
) -> None:
    a, b, c = (Identity.generate() for _ in range(3))
    base = unsigned([a, b, c])
    home = tmp_path / "home"
    with Owner.create(home, "pass", kdf=fast_kdf) as owner:
        first = owner.accords.add(signed_by(base, a))
        assert not first.complete and first.accord_id == base.id
        # b's and c's signatures come separately; each save adds to what is stored.
        owner.accords.add(signed_by(base, b))
        assert owner.accords.list(binding_only=True) == []
        last = owner.accords.add(signed_by(base, c))
        assert last.complete
        last.accord.verify()
    with Owner.open(home, "pass") as owner:
        (kept,) = owner.accords.list(binding_only=True)
        assert kept.accord == last.accord and kept.accord.to_bytes() == last.accord.to_bytes()
        assert owner.accords.get(kept.accord_id) == kept
        assert owner.accords.get(bytes(32)) is None


def test_a_bad_signature_is_refused_and_nothing_changes(owner: Owner) -> None:
    a, b = Identity.generate(), Identity.generate()
    base = unsigned([a, b])
    owner.accords.add(signed_by(base, a))
    forged = replace(base, signatures=(None, b"\x01" * 64))
    with pytest.raises(AgreementRejected, match="does not verify"):
        owner.accords.add(forged)
    # A signature on another outcome does not count for this one.
    other = Accord.of(bytes(16), [a.public_key, b.public_key], SPACE, ("loud", 23), 1_000)
    moved = replace(base, signatures=(None, other.sign(b)))
    with pytest.raises(AgreementRejected):
        owner.accords.add(moved)
    (stored,) = owner.accords.list()
    assert stored.accord.missing == (b.public_key,)


def test_a_second_accord_under_a_negotiation_id_between_the_same_parties_is_refused(
    owner: Owner,
) -> None:
    a, b, c = (Identity.generate() for _ in range(3))
    first = owner.accords.add(signed_by(unsigned([a, b], t=1_000), a, b))
    # The same negotiation replayed later (another time, so another accord id): refused.
    replayed = signed_by(unsigned([a, b], t=2_000), a, b)
    with pytest.raises(NegotiationIdReused, match="already used"):
        owner.accords.add(replayed)
    assert owner.accords.list() == [first]
    assert owner.accords.negotiation_used(bytes(16), [a.public_key, b.public_key])
    # The same id between other pairs is theirs: a and c share one party with a and b, not two.
    assert not owner.accords.negotiation_used(bytes(16), [a.public_key, c.public_key])
    owner.accords.add(signed_by(unsigned([a, c]), a, c))
    # More signatures on the accord already kept are still welcome.
    assert owner.accords.add(signed_by(unsigned([a, b], t=1_000), b)).accord_id == first.accord_id
    assert len(owner.accords.list()) == 2


def test_accords_are_listed_newest_first(owner: Owner) -> None:
    a, b = Identity.generate(), Identity.generate()
    for t in (5, 9, 7):
        owner.accords.add(signed_by(unsigned([a, b], nid=bytes([t]) * 16, t=t), a, b))
    assert [s.accord.time_ms for s in owner.accords.list()] == [9, 7, 5]


def test_group_norms_come_back_only_when_every_member_signed(owner: Owner) -> None:
    a, b = Identity.generate(), Identity.generate()
    norm = Norm(
        group_id=GROUP,
        name="quiet hours",
        issue="music",
        forbidden=("loud",),
        members=(a.public_key, b.public_key),
        time_ms=1,
    )
    assert not owner.norms.add(norm.with_signature(a.public_key, norm.sign(a)))
    assert owner.norms.of_group(GROUP).norms == ()
    assert owner.norms.add(norm.with_signature(b.public_key, norm.sign(b)))
    norms = owner.norms.of_group(GROUP)
    assert [n.name for n in norms.norms] == ["quiet hours"]
    assert len(norms.red_lines(SPACE)) == 1
    assert owner.norms.of_group(bytes(16)).norms == ()
    with pytest.raises(AgreementRejected):
        owner.norms.add(replace(norm, signatures=(b"\x02" * 64, None)))


def test_damaged_stored_bytes_are_reported_as_corruption(owner: Owner) -> None:
    a, b = Identity.generate(), Identity.generate()
    saved = owner.accords.add(signed_by(unsigned([a, b]), a))
    with owner.store.transaction() as conn:
        conn.execute(
            "UPDATE accords SET data = ? WHERE accord_id = ?", (b"\xff\x00", saved.accord_id)
        )
    with pytest.raises(StoreCorrupt, match="accord is unreadable"):
        owner.accords.list()
