"""What a peer may do once a handshake has proved who it is.

- A peer nobody paired with may only pair (``Access.PAIRING_ONLY``).
- A paired peer presenting the static key stored at pairing is let in (``Access.PAIRED``).
- A paired peer presenting any other static key is refused loudly with ``PeerKeyChanged``: either
  its key was rotated (the owners pair again) or someone holds its identity key and not its
  session key. The same goes for a stored static key under a different identity.

Inputs are the peer's identity key and Noise static key as the session proved them (the identity
signed the static key, and the handshake proved the static private key), and the paired peers to
look them up in: anything with ``get`` (by identity key) and ``find_by_static_key`` (a
``PeerLookup``, such as ``edge_dan.owner.Owner.peers``). Pairing sits below the owner's data and
does not know how it is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Generic, Protocol, TypeVar

from edge_dan.identity import fingerprint
from edge_dan.wire.errors import PeerKeyChanged, PeerNotPaired


class PairedPeer(Protocol):
    """What the policy reads of a paired peer."""

    @property
    def name(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...

    @property
    def static_key(self) -> bytes: ...


P_co = TypeVar("P_co", bound=PairedPeer, covariant=True)


class PeerLookup(Protocol[P_co]):
    """The paired peers, found by identity key or by the static key they paired with."""

    def get(self, identity_key: bytes) -> P_co | None: ...

    def find_by_static_key(self, static_key: bytes) -> P_co | None: ...


class Access(Enum):
    PAIRING_ONLY = "pairing_only"
    PAIRED = "paired"


@dataclass(frozen=True)
class Decision(Generic[P_co]):
    access: Access
    peer: P_co | None  # the paired peer when paired

    @property
    def may_pair(self) -> bool:
        return self.access is Access.PAIRING_ONLY

    @property
    def paired(self) -> bool:
        return self.access is Access.PAIRED


def key_fingerprint(static_key: bytes) -> str:
    """A short, readable fingerprint of a Noise static key, for messages about key changes."""
    return fingerprint(static_key, groups=4)


def decide(peers: PeerLookup[P_co], identity_key: bytes, static_key: bytes) -> Decision[P_co]:
    """The access a peer gets after its handshake; ``PeerKeyChanged`` when its key is not the one
    it paired with."""
    peer = peers.get(identity_key)
    if peer is not None:
        if peer.static_key != static_key:
            raise PeerKeyChanged(
                f"paired peer {peer.name!r} ({peer.fingerprint}) presented session key "
                f"{key_fingerprint(static_key)}, but was paired with session key "
                f"{key_fingerprint(peer.static_key)}: refused. If that person rotated their key, "
                "unpair and pair again; otherwise someone else holds their identity key."
            )
        return Decision(Access.PAIRED, peer)
    holder = peers.find_by_static_key(static_key)
    if holder is not None:
        raise PeerKeyChanged(
            f"session key {key_fingerprint(static_key)} belongs to paired peer {holder.name!r} "
            f"({holder.fingerprint}) but came with identity {fingerprint(identity_key)}: refused."
        )
    return Decision(Access.PAIRING_ONLY, None)


def require_paired(peers: PeerLookup[P_co], identity_key: bytes, static_key: bytes) -> P_co:
    """For anything but pairing: the paired peer, or ``PeerKeyChanged``/``PeerNotPaired``."""
    decision = decide(peers, identity_key, static_key)
    if decision.peer is None:
        raise PeerNotPaired(
            f"peer {fingerprint(identity_key)} is not paired: it may only pair, nothing else"
        )
    return decision.peer
