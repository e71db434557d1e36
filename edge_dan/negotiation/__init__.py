"""Negotiation: the social interface (DESIGN, "Negotiation").

This package is sans-IO. Its first building block is the domain model (:mod:`.domain`):
outcome spaces, utilities, reservation values, red lines and profiles, and the analysis (Pareto
frontier, Nash bargaining point, metrics). :mod:`.formats` loads GENIUS XML and GeniusWeb JSON
domains and profiles strictly.

On top of it, the social interface itself:

- :mod:`.protocol` — the mediated concession protocol (sans-IO) for 2 to 16 parties, paced by
  :mod:`.pace`; :mod:`.protocol_ao` — alternating offers, the common baseline, under the same
  message set (the ``Invite`` names the protocol);
- :mod:`.strategy` — the Little Dan strategy and the owner's policy (``auto`` / ``ask``);
- :mod:`.accords` — signed accords, verifiable offline, and a group's shared norms;
- :mod:`.runner` — runs N parties of either protocol in one process (tests, simulation,
  benchmarks).

Nothing here imports numpy at package import time: the modules that need it (all but
``domain.outcomes``, ``domain.errors``, ``formats.errors`` and ``accords.accord``) are imported
explicitly by callers.
"""

from __future__ import annotations

from edge_dan.negotiation.accords.accord import Accord, AccordError
from edge_dan.negotiation.domain.errors import (
    InvalidOutcome,
    NegotiationError,
    OutcomeSpaceTooLarge,
)
from edge_dan.negotiation.domain.outcomes import (
    DiscreteIssue,
    IntegerIssue,
    Issue,
    Outcome,
    OutcomeSpace,
    TextIssue,
    Value,
)
from edge_dan.negotiation.formats.errors import GeniusFormatError

__all__ = [
    "Accord",
    "AccordError",
    "DiscreteIssue",
    "GeniusFormatError",
    "IntegerIssue",
    "InvalidOutcome",
    "Issue",
    "NegotiationError",
    "Outcome",
    "OutcomeSpace",
    "OutcomeSpaceTooLarge",
    "TextIssue",
    "Value",
]
