"""Accords: deterministic bytes, every signature required, tampering detected offline."""

from __future__ import annotations

from dataclasses import replace

import cbor2
import pytest

from edge_dan.identity import Identity
from edge_dan.negotiation.accords.accord import ACCORD_CONTEXT, Accord, AccordError, space_digest
from edge_dan.negotiation.domain.outcomes import DiscreteIssue, IntegerIssue, OutcomeSpace

SPACE = OutcomeSpace([DiscreteIssue("place", ("home", "park")), IntegerIssue("hour", 17, 22)])
NID = bytes(range(16))


def signed(n: int = 3) -> tuple[list[Identity], Accord]:
    ids = [Identity.generate() for _ in range(n)]
    accord = Accord.of(NID, [i.public_key for i in ids], SPACE, ("park", 19), 1_700_000_000_000)
    for identity in ids:
        accord = accord.with_signature(identity.public_key, accord.sign(identity))
    return ids, accord


def test_complete_accord_verifies_and_round_trips_byte_exact() -> None:
    _, accord = signed()
    accord.verify()
    data = accord.to_bytes()
    again = Accord.from_bytes(data)
    assert again == accord and again.to_bytes() == data
    again.verify()
    assert again.terms == {"place": "park", "hour": 19}


def test_partial_accord_binds_nobody_and_names_the_missing() -> None:
    ids, full = signed()
    partial = replace(full, signatures=(full.signatures[0], None, full.signatures[2]))
    assert partial.missing == (ids[1].public_key,)
    with pytest.raises(AccordError, match="1 of 3 signatures missing"):
        partial.verify()
    restored = Accord.from_bytes(partial.to_bytes())
    assert restored.missing == (ids[1].public_key,)


@pytest.mark.parametrize("field", ["outcome", "party", "id", "time", "space", "order"])
def test_tampering_breaks_verification(field: str) -> None:
    _, accord = signed()
    if field == "outcome":
        tampered = replace(accord, outcome=(("place", "home"), ("hour", 19)))
    elif field == "party":
        tampered = replace(accord, parties=(Identity.generate().public_key, *accord.parties[1:]))
    elif field == "id":
        tampered = replace(accord, negotiation_id=bytes(16))
    elif field == "time":
        tampered = replace(accord, time_ms=accord.time_ms + 1)
    elif field == "space":
        tampered = replace(accord, space_digest=bytes(32))
    else:
        s = accord.signatures
        tampered = replace(accord, signatures=(s[1], s[0], s[2]))
    with pytest.raises(AccordError, match="does not verify"):
        tampered.verify()
    with pytest.raises(AccordError):
        Accord.from_bytes(tampered.to_bytes()).verify()


def test_signature_from_a_non_party_is_refused() -> None:
    _, accord = signed()
    outsider = Identity.generate()
    forged = outsider.sign(accord.message())
    with pytest.raises(AccordError, match="not a party"):
        accord.sign(outsider)
    with pytest.raises(AccordError, match="not a party"):
        accord.with_signature(outsider.public_key, forged)
    swapped = replace(accord, signatures=(forged, *accord.signatures[1:]))
    with pytest.raises(AccordError, match="party 0"):
        swapped.verify()


def test_signature_is_domain_separated() -> None:
    ids, accord = signed(2)
    plain = ids[0].sign(accord.body())  # the body without the accord context
    with pytest.raises(AccordError):
        accord.with_signature(ids[0].public_key, plain)
    assert accord.message().startswith(ACCORD_CONTEXT)


def test_from_bytes_is_strict() -> None:
    _, accord = signed(2)
    body, signatures = cbor2.loads(accord.to_bytes())
    with pytest.raises(AccordError):
        Accord.from_bytes(accord.to_bytes() + b"\x00")
    with pytest.raises(AccordError, match="one signature slot"):
        Accord.from_bytes(cbor2.dumps([body, signatures[:1]], canonical=True))
    with pytest.raises(AccordError, match="canonical"):
        # The same array with a needlessly long length header (0x98 0x02 instead of 0x82).
        Accord.from_bytes(b"\x98\x02" + accord.to_bytes()[1:])
    extra = cbor2.loads(body) | {"extra": 1}
    with pytest.raises(AccordError, match="exactly the fields"):
        Accord.from_bytes(
            cbor2.dumps([cbor2.dumps(extra, canonical=True), signatures], canonical=True)
        )


def test_space_digest_depends_on_issues_and_values() -> None:
    other = OutcomeSpace([DiscreteIssue("place", ("park", "home")), IntegerIssue("hour", 17, 22)])
    assert space_digest(SPACE) != space_digest(other)
    assert space_digest(SPACE) == space_digest(OutcomeSpace(SPACE.issues))


def test_an_accord_reads_as_terms_signers_and_time_not_bytes() -> None:
    ids = [Identity.generate() for _ in range(2)]
    accord = Accord.of(
        bytes(16), [i.public_key for i in ids], SPACE, ("park", 19), 1_765_000_000_000
    )
    accord = accord.with_signature(ids[0].public_key, accord.sign(ids[0]))
    shown = str(accord)
    assert "place = park; hour = 19" in shown
    assert "signed by 1 of 2 parties" in shown and "2025-12-06" in shown
    assert ids[0].fingerprint[:9] in shown
    assert "\\x" not in shown and "\\x" not in repr(accord)
    assert repr(accord).startswith(f"Accord(id={accord.id.hex()[:12]}...")
    # A peer may sign any 64-bit time: showing it never fails (how far years print depends on
    # the platform's C library, so only the terms are checked).
    far = Accord.of(bytes(16), [i.public_key for i in ids], SPACE, ("park", 19), 2**64 - 1)
    assert "place = park" in str(far) and "place" in repr(far)
