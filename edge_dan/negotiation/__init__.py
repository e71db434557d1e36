"""Negotiation: the social interface (DESIGN, "Negotiation").

This package is sans-IO. Its first building block is the domain model:

- :mod:`.outcomes` — issues and bounded outcome spaces;
- :mod:`.utility` — utility functions, reservation values, red lines and the owner's private
  :class:`~.utility.Profile`;
- :mod:`.genius` — a strict loader of GENIUS XML domains and utility profiles;
- :mod:`.analysis` — Pareto frontier, Nash bargaining point and the outcome metrics.

On top of it, the social interface itself:

- :mod:`.protocol` — the mediated concession protocol (sans-IO) for 2 to 16 parties, paced by
  :mod:`.pace`; :mod:`.protocol_ao` — alternating offers, the common baseline, under the same
  message set (the ``Invite`` names the protocol);
- :mod:`.strategy` — the Little Dan strategy and the owner's policy (``auto`` / ``ask``);
- :mod:`.accord` — signed accords, verifiable offline; :mod:`.norms` — a group's shared norms;
- :mod:`.runner` — runs N parties of either protocol in one process (tests, simulation,
  benchmarks);
- :mod:`.geniusweb` — a strict loader of GeniusWeb JSON domains and profiles.

Nothing here imports numpy at package import time: the modules above that need it (all but
:mod:`.outcomes`, :mod:`.accord` and :mod:`.errors`) are imported explicitly by callers.
"""

from __future__ import annotations

from edge_dan.negotiation.accord import Accord, AccordError
from edge_dan.negotiation.errors import (
    GeniusFormatError,
    InvalidOutcome,
    NegotiationError,
    OutcomeSpaceTooLarge,
)
from edge_dan.negotiation.outcomes import (
    DiscreteIssue,
    IntegerIssue,
    Issue,
    Outcome,
    OutcomeSpace,
    TextIssue,
    Value,
)

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
