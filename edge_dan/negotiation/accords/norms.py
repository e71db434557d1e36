"""Shared norms: rules a group adopts once and every later negotiation in it treats as red lines.

A :class:`Norm` is an accord of its own kind: a group id, a name people read ("quiet hours
22-7"), a constraint over outcomes, the members (identity keys) and a time, signed by every
member with Ed25519 under its own context string (so a norm signature can never pass for an
accord signature, nor the reverse). Like an accord it binds nobody until every member signed.

The constraint is deliberately simple and serialisable: on the issue called ``issue``, the values
in ``forbidden`` are out of bounds. A norm applies to any outcome space with an issue of that
name; in other spaces it has nothing to say. :class:`GroupNorms` holds a group's verified norms,
turns them into :class:`~edge_dan.negotiation.domain.utility.RedLine` objects for a space, and
gives the digest the protocol's ``Invite`` carries, so every party negotiates under the same norms.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from edge_dan.negotiation.accords.accord import (
    AccordError,
    SignedBody,
    canonical_body,
    signing_message,
    strict_loads,
)
from edge_dan.negotiation.domain.outcomes import Outcome, OutcomeSpace, Value
from edge_dan.negotiation.domain.utility import RedLine

NORM_CONTEXT = b"edge-dan/v1/norm\x00"
NORM_FORMAT = 1
NO_NORMS_DIGEST = bytes(32)


class NormError(AccordError):
    """A norm is malformed, incomplete, or a signature on it does not verify."""


@dataclass(frozen=True)
class Norm(SignedBody):
    """A group rule: on ``issue``, the ``forbidden`` values are out of bounds for everyone."""

    group_id: bytes
    name: str
    issue: str
    forbidden: tuple[Value, ...]
    members: tuple[bytes, ...]
    time_ms: int
    signatures: tuple[bytes | None, ...] = ()

    _error = NormError
    _signer = "member"
    _not_a_signer = "the signer is not a member of this group"

    def __post_init__(self) -> None:
        if not isinstance(self.group_id, bytes) or len(self.group_id) != 16:
            raise NormError("a group id is 16 bytes")
        if not isinstance(self.name, str) or not self.name:
            raise NormError("a norm needs a name people can read")
        if not isinstance(self.issue, str) or not self.issue:
            raise NormError("a norm names the issue it constrains")
        forbidden = tuple(self.forbidden)
        if not forbidden or any(
            isinstance(v, bool) or not isinstance(v, str | int) for v in forbidden
        ):
            raise NormError("a norm forbids at least one value (text or integer)")
        if len(set(forbidden)) != len(forbidden):
            raise NormError("a forbidden value appears twice")
        object.__setattr__(self, "forbidden", forbidden)
        members = tuple(self.members)
        if not members or len(set(members)) != len(members):
            raise NormError("a norm needs distinct members")
        if any(not isinstance(m, bytes) or len(m) != 32 for m in members):
            raise NormError("every member is a 32-byte Ed25519 identity key")
        object.__setattr__(self, "members", members)
        if isinstance(self.time_ms, bool) or not isinstance(self.time_ms, int):
            raise NormError("time_ms must be an integer")
        if not self.signatures:
            object.__setattr__(self, "signatures", (None,) * len(members))
        if len(self.signatures) != len(members):
            raise NormError("one signature slot per member")

    def body(self) -> bytes:
        """Canonical CBOR of what the members sign."""
        return canonical_body(
            {
                "format": NORM_FORMAT,
                "group": self.group_id,
                "name": self.name,
                "issue": self.issue,
                "forbidden": list(self.forbidden),
                "members": list(self.members),
                "time_ms": self.time_ms,
            }
        )

    @property
    def signers(self) -> tuple[bytes, ...]:
        """The members."""
        return self.members

    def message(self) -> bytes:
        """The bytes each member signs."""
        return signing_message(NORM_CONTEXT, self.body())

    @property
    def digest(self) -> bytes:
        """32-byte digest of the body (what a negotiation refers to)."""
        return hashlib.blake2b(self.body(), digest_size=32, person=b"edge-dan-norm-1").digest()

    def verify(self) -> None:
        """Raise :class:`NormError` unless every member signed and every signature verifies."""
        if self.missing:
            raise NormError(
                f"norm {self.name!r} not adopted: {len(self.missing)} signatures missing"
            )
        self._check_every_signature()

    def forbids(self, space: OutcomeSpace, outcome: Outcome) -> bool:
        """Whether ``outcome`` of ``space`` breaks this norm."""
        if self.issue not in space.issue_names:
            return False
        return outcome[space.issue_position(self.issue)] in self.forbidden

    def red_line(self, space: OutcomeSpace) -> RedLine | None:
        """This norm as a red line over ``space``, or ``None`` if it does not apply there."""
        if self.issue not in space.issue_names:
            return None
        position = space.issue_position(self.issue)
        forbidden = frozenset(self.forbidden)
        return RedLine.when(lambda o: o[position] in forbidden, f"group norm: {self.name}")

    def to_bytes(self) -> bytes:
        """Deterministic CBOR: the body and the signatures in member order (empty: missing)."""
        slots = [signature or b"" for signature in self.signatures]
        return canonical_body({"body": self.body(), "signatures": slots})

    @classmethod
    def from_bytes(cls, data: bytes) -> Norm:
        """Parse :meth:`to_bytes` output strictly (call :meth:`verify` to check signatures)."""
        value = strict_loads(data, "norm")
        if not isinstance(value, dict) or set(value) != {"body", "signatures"}:
            raise NormError("norm: expected {body, signatures}")
        body = strict_loads(value["body"], "norm body")
        expected = {"format", "group", "name", "issue", "forbidden", "members", "time_ms"}
        if not isinstance(body, dict) or set(body) != expected or body["format"] != NORM_FORMAT:
            raise NormError(f"norm body: expected format {NORM_FORMAT} with {sorted(expected)}")
        slots = value["signatures"]
        if not isinstance(slots, list) or any(
            not isinstance(s, bytes) or len(s) not in (0, 64) for s in slots
        ):
            raise NormError("norm: a signature slot holds 64 bytes, or none")
        if not isinstance(body["members"], list) or len(slots) != len(body["members"]):
            raise NormError("norm: one signature slot per member")
        if not isinstance(body["forbidden"], list):
            raise NormError("norm: forbidden values must be a list")
        norm = cls(
            group_id=body["group"],
            name=body["name"],
            issue=body["issue"],
            forbidden=tuple(body["forbidden"]),
            members=tuple(body["members"]),
            time_ms=body["time_ms"],
            signatures=tuple(s or None for s in slots),
        )
        if norm.body() != value["body"]:
            raise NormError("norm body is not in canonical form")
        return norm


class GroupNorms:
    """The norms a group has adopted (each verified on the way in)."""

    def __init__(self, group_id: bytes, norms: Iterable[Norm] = ()) -> None:
        self.group_id = group_id
        self._norms: list[Norm] = []
        for norm in norms:
            self.adopt(norm)

    @property
    def norms(self) -> tuple[Norm, ...]:
        """Adopted norms, in adoption order."""
        return tuple(self._norms)

    def adopt(self, norm: Norm) -> None:
        """Add a norm once every member's signature is in and verifies."""
        if norm.group_id != self.group_id:
            raise NormError(f"norm {norm.name!r} belongs to another group")
        norm.verify()
        if norm.digest not in {n.digest for n in self._norms}:
            self._norms.append(norm)

    def red_lines(self, space: OutcomeSpace) -> tuple[RedLine, ...]:
        """Every adopted norm that applies to ``space``, as red lines."""
        lines = (norm.red_line(space) for norm in self._norms)
        return tuple(line for line in lines if line is not None)

    @property
    def digest(self) -> bytes:
        """What ``Invite.norms_digest`` carries: all zeros when no norm is adopted."""
        return norms_digest(self._norms)


def norms_digest(norms: Sequence[Norm]) -> bytes:
    """Order-independent digest of a set of norms (all zeros for none)."""
    if not norms:
        return NO_NORMS_DIGEST
    joined = b"".join(sorted({norm.digest for norm in norms}))
    return hashlib.blake2b(joined, digest_size=32, person=b"edge-dan-norms-1").digest()
