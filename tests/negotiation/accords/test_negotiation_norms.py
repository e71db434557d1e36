"""Group norms: adopted by every member's signature, then a red line in later negotiations."""

from __future__ import annotations

from dataclasses import replace

import pytest
from negotiation_runner import run

from edge_dan.identity import Identity
from edge_dan.negotiation.accords.norms import GroupNorms, Norm, NormError, norms_digest
from edge_dan.negotiation.domain.outcomes import DiscreteIssue, IntegerIssue, OutcomeSpace, Value
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility, Profile
from edge_dan.negotiation.protocols.core import State
from edge_dan.negotiation.protocols.mediated import Mediator, Participant
from edge_dan.negotiation.strategy import LittleDan

GROUP = b"family-group-id!"
QUIET = (22, 23, 0, 1, 2, 3, 4, 5, 6)
SPACE = OutcomeSpace([DiscreteIssue("what", ("music", "movie")), IntegerIssue("hour", 0, 23)])


def adopted(members: list[Identity]) -> Norm:
    norm = Norm(GROUP, "quiet hours 22-7", "hour", QUIET, tuple(m.public_key for m in members), 5)
    for member in members:
        norm = norm.with_signature(member.public_key, norm.sign(member))
    return norm


def night_owl() -> Profile:
    hours: dict[Value, float] = {
        h: float((h - 4) % 24) for h in range(24)
    }  # 3 at night best, 4 worst
    return Profile(
        SPACE,
        LinearAdditiveUtility(
            SPACE, {"what": 1, "hour": 3}, {"what": {"music": 1, "movie": 0}, "hour": hours}
        ),
    )


def test_adopted_norm_is_a_red_line_for_everyone_in_later_negotiations() -> None:
    members = [Identity.generate() for _ in range(2)]
    norms = GroupNorms(GROUP, [adopted(members)])
    owls = [night_owl(), night_owl()]
    # Without the norm both night owls settle on a quiet hour.
    free = Mediator(members[0], LittleDan(owls[0]), [members[1].public_key], negotiation_id=GROUP)
    free_result = run(free, [Participant(members[1], LittleDan(owls[1]))])
    free_accord = free_result.accord_of(members[0].public_key)
    assert free_accord is not None and free_accord.terms["hour"] in QUIET
    # Under the norm they never do.
    lines = norms.red_lines(SPACE)
    mediator = Mediator(
        members[0],
        LittleDan(owls[0], extra_red_lines=lines),
        [members[1].public_key],
        negotiation_id=GROUP,
        norms_digest=norms.digest,
    )
    participant = Participant(
        members[1], LittleDan(owls[1], extra_red_lines=lines), norms_digest=norms.digest
    )
    accord = run(mediator, [participant]).accord_of(members[1].public_key)
    assert accord is not None
    assert accord.terms["hour"] not in QUIET


def test_a_party_under_other_norms_declines() -> None:
    members = [Identity.generate() for _ in range(2)]
    norms = GroupNorms(GROUP, [adopted(members)])
    mediator = Mediator(
        members[0],
        LittleDan(night_owl()),
        [members[1].public_key],
        negotiation_id=GROUP,
        norms_digest=norms.digest,
    )
    participant = Participant(members[1], LittleDan(night_owl()))
    run(mediator, [participant])
    assert participant.state is State.FAILED and mediator.state is State.FAILED


def test_a_norm_binds_only_when_every_member_signed() -> None:
    members = [Identity.generate() for _ in range(3)]
    norm = Norm(GROUP, "quiet hours", "hour", QUIET, tuple(m.public_key for m in members), 5)
    norm = norm.with_signature(members[0].public_key, norm.sign(members[0]))
    assert norm.missing == (members[1].public_key, members[2].public_key)
    with pytest.raises(NormError, match="2 signatures missing"):
        GroupNorms(GROUP).adopt(norm)


def test_norm_tampering_and_strangers_are_detected() -> None:
    members = [Identity.generate() for _ in range(2)]
    norm = adopted(members)
    again = Norm.from_bytes(norm.to_bytes())
    again.verify()
    assert again == norm and again.to_bytes() == norm.to_bytes()
    with pytest.raises(NormError):
        replace(norm, forbidden=(23,)).verify()
    with pytest.raises(NormError):
        GroupNorms(b"another-group-id").adopt(norm)
    stranger = Identity.generate()
    with pytest.raises(NormError):
        norm.sign(stranger)


def test_norms_digest_ignores_order_and_norm_outside_space_does_not_apply() -> None:
    members = [Identity.generate() for _ in range(2)]
    quiet = adopted(members)
    other = Norm(GROUP, "no pets", "pet", ("dog",), quiet.members, 6)
    for member in members:
        other = other.with_signature(member.public_key, other.sign(member))
    assert norms_digest([quiet, other]) == norms_digest([other, quiet])
    assert norms_digest([]) == bytes(32)
    group = GroupNorms(GROUP, [quiet, other])
    assert len(group.red_lines(SPACE)) == 1
    assert quiet.forbids(SPACE, ("music", 23)) and not quiet.forbids(SPACE, ("music", 12))
