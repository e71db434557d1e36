"""The error of the file-format loaders."""

from __future__ import annotations

from pathlib import Path

from edge_dan.negotiation.domain.errors import NegotiationError


class GeniusFormatError(NegotiationError):
    """A GENIUS XML or GeniusWeb JSON domain or profile file is unsafe, malformed or inconsistent.

    The message always starts with the file's path, so the person can find the file to fix.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
