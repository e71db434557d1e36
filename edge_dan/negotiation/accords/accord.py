"""Accords: the signed record of an agreement, verifiable offline.

An :class:`Accord` names the agreed outcome (issue name to value, readable without the outcome
space), the parties (Ed25519 identity keys, mediator first), the negotiation id, the time the
mediator wrote into its proposal, and a digest of the outcome space. Its *body* is canonical CBOR,
so every party computes the same bytes; each party signs ``ACCORD_CONTEXT + body`` (domain
separation: a signature on an accord can never pass for a signature on anything else).

An accord binds nobody until every party's signature is in: :meth:`Accord.missing` lists the
parties still to sign and :meth:`Accord.verify` refuses a partial accord. ``to_bytes`` keeps the
signatures in party order (empty for a missing one), so reordering them breaks verification.

The same machinery (:func:`canonical_body`, :func:`signing_message`, the signature slots of
:class:`SignedBody`) signs norms (:mod:`.norms`) under their own context string.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self

import cbor2

from edge_dan.identity import Identity, IdentityError, fingerprint, verify
from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.domain.outcomes import IntegerIssue, OutcomeSpace, Value
from edge_dan.wire.errors import MessageError
from edge_dan.wire.messages.strict_cbor import check_strict

ACCORD_CONTEXT = b"edge-dan/v1/accord\x00"
ACCORD_FORMAT = 1
ACCORD_ID_PERSON = b"edge-dan-accord1"
MAX_ACCORD_BYTES = 64 * 1024


class AccordError(NegotiationError):
    """An accord is malformed, incomplete, or a signature on it does not verify."""


def space_digest(space: OutcomeSpace) -> bytes:
    """32-byte digest of an outcome space's issues and values (order matters)."""
    description: list[object] = []
    for issue in space.issues:
        if isinstance(issue, IntegerIssue):
            description.append([issue.name, "int", issue.low, issue.high])
        else:
            description.append([issue.name, type(issue).__name__, list(issue.values)])
    data = cbor2.dumps(description, canonical=True)
    return hashlib.blake2b(data, digest_size=32, person=b"edge-dan-space1").digest()


def canonical_body(body: Mapping[str, object]) -> bytes:
    """Deterministic CBOR of a record body (text keys, canonical order)."""
    return bytes(cbor2.dumps(dict(body), canonical=True))


def signing_message(context: bytes, body: bytes) -> bytes:
    """The exact bytes a party signs: a context string, then the canonical body."""
    return context + body


def strict_loads(data: bytes, what: str, limit: int = MAX_ACCORD_BYTES) -> Any:
    """Decode canonical CBOR from an untrusted source, or raise :class:`AccordError`."""
    if not isinstance(data, bytes) or len(data) > limit:
        raise AccordError(f"{what}: expected at most {limit} bytes")
    try:
        check_strict(data)
        value = cbor2.loads(data)
    except (MessageError, cbor2.CBORError, ValueError) as error:
        raise AccordError(f"{what}: not valid CBOR ({error})") from None
    if cbor2.dumps(value, canonical=True) != data:
        raise AccordError(f"{what}: not in canonical CBOR form")
    return value


class SignedBody:
    """One signature slot per signer, each over ``message()``: what accords and norms share.

    A subclass is a frozen dataclass with a ``signatures`` field (``None`` in a slot not signed
    yet); it names its signers (``signers``) and says how its errors read and which it raises.
    """

    __dataclass_fields__: ClassVar[dict[str, Any]]  # a subclass is a dataclass (for ``replace``)
    signatures: tuple[bytes | None, ...]
    _error: ClassVar[type[AccordError]]
    _signer: ClassVar[str]  # what one signer is called: "party", "member"
    _not_a_signer: ClassVar[str]  # the error for a key that is not among the signers

    @property
    def signers(self) -> tuple[bytes, ...]:
        """The keys that sign, in slot order."""
        raise NotImplementedError

    def message(self) -> bytes:
        """The bytes each signer signs."""
        raise NotImplementedError

    def sign(self, identity: Identity) -> bytes:
        """``identity``'s signature; the record's error if it is not a signer."""
        if identity.public_key not in self.signers:
            raise self._error(self._not_a_signer)
        return identity.sign(self.message())

    def with_signature(self, signer: bytes, signature: bytes) -> Self:
        """A copy holding ``signature`` for ``signer``, checked first."""
        if signer not in self.signers:
            raise self._error(self._not_a_signer)
        try:
            verify(signer, self.message(), signature)
        except IdentityError:
            raise self._error(f"the signature does not verify for this {self._signer}") from None
        slots = list(self.signatures)
        slots[self.signers.index(signer)] = signature
        return replace(self, signatures=tuple(slots))

    @property
    def missing(self) -> tuple[bytes, ...]:
        """Signers whose signature is not in yet."""
        return tuple(k for k, s in zip(self.signers, self.signatures, strict=True) if s is None)

    def _check_every_signature(self) -> None:
        """Raise the record's error unless every slot holds a signature that verifies."""
        message = self.message()
        for position, (signer, signature) in enumerate(
            zip(self.signers, self.signatures, strict=True)
        ):
            assert signature is not None
            try:
                verify(signer, message, signature)
            except IdentityError:
                raise self._error(
                    f"signature of {self._signer} {position} does not verify"
                ) from None


def _keys(parties: Sequence[bytes]) -> tuple[bytes, ...]:
    keys = tuple(parties)
    if not keys:
        raise AccordError("an accord needs at least one party")
    for key in keys:
        if not isinstance(key, bytes) or len(key) != 32:
            raise AccordError("every party must be a 32-byte Ed25519 identity key")
    if len(set(keys)) != len(keys):
        raise AccordError("a party appears twice")
    return keys


def _utc(time_ms: int) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time_ms / 1000))
    except (OverflowError, OSError, ValueError):  # a peer may sign any 64-bit time
        return f"{time_ms} ms after 1970"


@dataclass(frozen=True, repr=False)
class Accord(SignedBody):
    """An agreement and the parties' signatures on it (see module doc).

    Every party signs the same canonical body; anyone can check the signatures offline::

        accord = result.accord                    # from Agent.negotiate, or Accord.from_bytes
        accord.verify()                           # AccordError unless every signature holds
        print(accord)                             # accord 41f3...: plan = Walk; signed by 2 of 2
        dict(accord.outcome), accord.id.hex()     # the terms, and the id every party shares
    """

    negotiation_id: bytes
    parties: tuple[bytes, ...]
    outcome: tuple[tuple[str, Value], ...]
    time_ms: int
    space_digest: bytes
    signatures: tuple[bytes | None, ...] = ()

    _error = AccordError
    _signer = "party"
    _not_a_signer = "the signer is not a party of this accord"

    def __post_init__(self) -> None:
        object.__setattr__(self, "parties", _keys(self.parties))
        if not self.signatures:
            object.__setattr__(self, "signatures", (None,) * len(self.parties))
        if len(self.signatures) != len(self.parties):
            raise AccordError(
                f"{len(self.signatures)} signature slots for {len(self.parties)} parties"
            )
        if not isinstance(self.negotiation_id, bytes) or len(self.negotiation_id) != 16:
            raise AccordError("the negotiation id must be 16 bytes")
        if not isinstance(self.space_digest, bytes) or len(self.space_digest) != 32:
            raise AccordError("the space digest must be 32 bytes")
        if isinstance(self.time_ms, bool) or not isinstance(self.time_ms, int):
            raise AccordError("time_ms must be an integer")
        if not 0 <= self.time_ms < 2**64:
            raise AccordError("time_ms must lie in 0..2^64-1")
        # Types first: a decoded name may be a list, which a set cannot hold.
        for name, value in self.outcome:
            if not isinstance(name, str) or isinstance(value, bool):
                raise AccordError(f"malformed outcome entry {name!r}: {value!r}")
            if not isinstance(value, str | int):
                raise AccordError(f"issue {name!r}: a value is text or an integer")
        names = [name for name, _ in self.outcome]
        if not names or len(set(names)) != len(names):
            raise AccordError("the outcome must name each issue once")

    @classmethod
    def of(
        cls,
        negotiation_id: bytes,
        parties: Sequence[bytes],
        space: OutcomeSpace,
        outcome: tuple[Value, ...],
        time_ms: int,
    ) -> Accord:
        """An unsigned accord on ``outcome`` of ``space``."""
        pairs = tuple(space.as_dict(outcome).items())
        return cls(negotiation_id, tuple(parties), pairs, time_ms, space_digest(space))

    @property
    def terms(self) -> dict[str, Value]:
        """What was agreed: ``{issue name: value}``."""
        return dict(self.outcome)

    def __str__(self) -> str:
        """What was agreed, by whom and when, for a person: no bytes."""
        terms = "; ".join(f"{name} = {value}" for name, value in self.outcome)
        signed = len(self.parties) - len(self.missing)
        who = ", ".join(fingerprint(party, groups=2) for party in self.parties)
        return (
            f"accord {self.id.hex()[:12]}: {terms}; signed by {signed} of "
            f"{len(self.parties)} parties ({who}), {_utc(self.time_ms)}"
        )

    def __repr__(self) -> str:
        return (
            f"Accord(id={self.id.hex()[:12]}..., terms={dict(self.outcome)!r}, "
            f"parties={len(self.parties)}, signed={len(self.parties) - len(self.missing)}, "
            f"time={_utc(self.time_ms)!r})"
        )

    def body(self) -> bytes:
        """Canonical CBOR of everything the parties sign."""
        return canonical_body(
            {
                "format": ACCORD_FORMAT,
                "negotiation": self.negotiation_id,
                "parties": list(self.parties),
                "outcome": [[name, value] for name, value in self.outcome],
                "time_ms": self.time_ms,
                "space": self.space_digest,
            }
        )

    @property
    def id(self) -> bytes:
        """The accord's name, the same for every party: BLAKE2b-256 of the signed body.

        Signatures are not part of it, so a partially signed copy has the id of the whole.
        """
        return hashlib.blake2b(self.body(), digest_size=32, person=ACCORD_ID_PERSON).digest()

    @property
    def signers(self) -> tuple[bytes, ...]:
        """The parties, mediator first."""
        return self.parties

    def message(self) -> bytes:
        """The bytes each party signs."""
        return signing_message(ACCORD_CONTEXT, self.body())

    @property
    def complete(self) -> bool:
        """Whether every slot holds a signature (not whether they verify)."""
        return not self.missing

    def verify(self) -> None:
        """Raise :class:`AccordError` unless every party's signature is in and verifies."""
        missing = self.missing
        if missing:
            raise AccordError(
                f"accord not binding: {len(missing)} of {len(self.parties)} signatures missing"
            )
        self._check_every_signature()

    def to_bytes(self) -> bytes:
        """Deterministic CBOR: the signed body and the signatures in party order."""
        slots = [signature or b"" for signature in self.signatures]  # b"": not signed yet
        return bytes(cbor2.dumps([self.body(), slots], canonical=True))

    @classmethod
    def from_bytes(cls, data: bytes) -> Accord:
        """Parse :meth:`to_bytes` output strictly (signatures are not checked: call verify)."""
        value = strict_loads(data, "accord")
        if not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], bytes):
            raise AccordError("accord: expected [body, signatures]")
        body_bytes, signatures = value
        body = strict_loads(body_bytes, "accord body")
        expected = {"format", "negotiation", "parties", "outcome", "time_ms", "space"}
        if not isinstance(body, dict) or set(body) != expected:
            raise AccordError(f"accord body: expected exactly the fields {sorted(expected)}")
        if body["format"] != ACCORD_FORMAT:
            raise AccordError(f"accord format {body['format']!r} is not supported")
        outcome = body["outcome"]
        if not isinstance(outcome, list) or not all(
            isinstance(e, list) and len(e) == 2 for e in outcome
        ):
            raise AccordError("accord body: the outcome must be a list of [issue, value] pairs")
        if not isinstance(body["parties"], list) or not isinstance(signatures, list):
            raise AccordError("accord: parties and signatures must be lists")
        if len(signatures) != len(body["parties"]):
            raise AccordError("accord: one signature slot per party is required")
        for signature in signatures:
            if not isinstance(signature, bytes) or len(signature) not in (0, 64):
                raise AccordError("accord: a signature slot holds 64 bytes, or none")
        accord = cls(
            negotiation_id=body["negotiation"],
            parties=tuple(body["parties"]),
            outcome=tuple((name, value) for name, value in outcome),
            time_ms=body["time_ms"],
            space_digest=body["space"],
            signatures=tuple(signature or None for signature in signatures),
        )
        if accord.body() != body_bytes:
            raise AccordError("accord body is not in canonical form")
        return accord
