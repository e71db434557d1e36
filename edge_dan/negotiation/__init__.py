"""Negotiation: the social interface (DESIGN, "Negotiation"). Sans-IO throughout.

One layer per sub-package, each importing only the layers below it:

- :mod:`.domain` — outcome spaces, utilities, reservation values, red lines and the owner's
  private profile, and the analysis (Pareto frontier, Nash bargaining point, metrics);
- :mod:`.formats` — strict loaders of GENIUS XML and GeniusWeb JSON domains and profiles;
- :mod:`.accords` — signed accords, verifiable offline, and a group's shared norms;
- :mod:`.strategy` — the Little Dan strategy and the owner's policy (``auto`` / ``ask``);
- :mod:`.protocols` — the mediated concession protocol (2 to 16 parties) and alternating
  offers, the common baseline, under one message set (the ``Invite`` names the protocol).

The order, bottom up (an arrow points at what a layer may import)::

    domain  <-  formats, accords, strategy  <-  protocols

``formats``, ``accords`` and ``strategy`` import only ``domain``, never each other; ``protocols``
imports ``domain``, ``accords`` and ``strategy``; nothing in the package imports ``protocols``.
No cycles (``tests/test_layers.py`` holds the package to this order, with every other package).

The in-process runner that plays N parties of either protocol against each other is test and
bench code, not SDK code: ``tests/negotiation/negotiation_runner.py``.

Nothing here imports numpy at package import time: the modules that need it (all but
``domain.outcomes``, ``domain.errors``, ``formats.errors``, ``accords.accord`` and
``protocols.agenda``) are imported explicitly by callers, and the sub-packages' ``__init__``
modules import nothing, but for ``protocols.mediated``, which gathers its two sides.
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
