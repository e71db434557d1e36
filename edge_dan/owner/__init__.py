"""The owner's data: profile, answers, contests, peers, keys and agreements, in the encrypted store.

``Owner`` (``core``) is the one way in: one attribute per kind of data, each a small class in its
own module (``profile``, ``feedback``, ``contests``, ``peers``, ``advertising``, ``accords``,
``norms``, ``identity``), on a store from ``edge_dan.store``, whose tables this package defines
(``schema``). This layer sits above the domain packages whose objects it keeps (values,
negotiation, pairing, identity, discovery tokens); the rules about those objects live with them,
and this package only keeps them.

Importing it stays light: the record types (``Peer``, ``Answer``, ``Contest``, ``StoredAccord``
...) are imported from their modules.
"""

from edge_dan.owner.core import Owner
from edge_dan.owner.errors import (
    AgreementRejected,
    AmbiguousPeer,
    NegotiationIdReused,
    NotPaired,
    PeerAlreadyPaired,
    PeerNameError,
    UnknownAnswer,
    UnknownContest,
    UnknownPeer,
)
from edge_dan.owner.schema import SCHEMA

__all__ = [
    "SCHEMA",
    "AgreementRejected",
    "AmbiguousPeer",
    "NegotiationIdReused",
    "NotPaired",
    "Owner",
    "PeerAlreadyPaired",
    "PeerNameError",
    "UnknownAnswer",
    "UnknownContest",
    "UnknownPeer",
]
