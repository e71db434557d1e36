"""Negotiation: the social interface (DESIGN, "Negotiation").

This package is sans-IO. Its first building block is the domain model:

- :mod:`.outcomes` — issues and bounded outcome spaces;
- :mod:`.utility` — utility functions, reservation values, red lines and the owner's private
  :class:`~.utility.Profile`;
- :mod:`.genius` — a strict loader of GENIUS XML domains and utility profiles;
- :mod:`.analysis` — Pareto frontier, Nash bargaining point and the outcome metrics.

Nothing here imports numpy at package import time except :mod:`.utility` and :mod:`.analysis`,
which callers import explicitly.
"""

from __future__ import annotations

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
