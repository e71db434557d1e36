"""What can go wrong with the owner's data, apart from the store's own errors (``edge_dan.errors``).

Kept in a module of its own, light to import (the CLI names these errors before it loads anything
heavy). Messages say what is wrong; the CLI adds which command helps.
"""

from __future__ import annotations

from edge_dan.errors import StoreError, UsageError


class PeerNameError(UsageError):
    """A peer name is empty, too long, or holds control characters."""


class UnknownPeer(UsageError):
    """No partner has that name or fingerprint."""


class AmbiguousPeer(UsageError):
    """More than one partner answers to that name or fingerprint prefix."""


class PeerAlreadyPaired(StoreError):
    """A peer with this identity (or this static key) is paired already; unpair it first."""


class NotPaired(StoreError):
    """An advertising key came from a peer that is not paired; it is not kept."""


class AgreementRejected(StoreError):
    """An accord or norm carries a signature that does not verify; nothing was stored."""


class NegotiationIdReused(AgreementRejected):
    """An accord reuses the negotiation id of another accord kept between the same parties.

    Negotiation ids are unique per pair of parties: a second accord under one id is a replay (or
    a mediator's mistake), never a new agreement; nothing was stored.
    """


class UnknownAnswer(UsageError):
    """No kept answer has that number."""


class UnknownContest(UsageError):
    """No contest has that number."""
