"""Errors of the negotiation domain, all under :class:`edge_dan.errors.EdgeDanError`.

:class:`NegotiationError` is the base of every negotiation error, in every sub-package.
"""

from __future__ import annotations

from edge_dan.errors import EdgeDanError


class NegotiationError(EdgeDanError):
    """A negotiation domain, profile, outcome or protocol step is invalid."""


class OutcomeSpaceTooLarge(NegotiationError):
    """An outcome space was asked to enumerate more outcomes than its configured bound."""


class InvalidOutcome(NegotiationError):
    """An outcome is not a member of its outcome space (wrong length or value)."""
