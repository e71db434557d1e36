"""Errors of the negotiation layer, all under :class:`edge_dan.errors.EdgeDanError`."""

from __future__ import annotations

from pathlib import Path

from edge_dan.errors import EdgeDanError


class NegotiationError(EdgeDanError):
    """A negotiation domain, profile, outcome or protocol step is invalid."""


class OutcomeSpaceTooLarge(NegotiationError):
    """An outcome space was asked to enumerate more outcomes than its configured bound."""


class InvalidOutcome(NegotiationError):
    """An outcome is not a member of its outcome space (wrong length or value)."""


class GeniusFormatError(NegotiationError):
    """A GENIUS XML domain or profile file is unsafe, malformed or inconsistent.

    The message always starts with the file's path, so the person can find the file to fix.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
