"""Errors of the value model layer."""

from __future__ import annotations

from edge_dan.errors import EdgeDanError


class ModelError(EdgeDanError):
    """The value model cannot be loaded or run (missing, truncated or altered artifacts).

    The message names the file concerned and, for a file that fails its integrity check, the
    hash recorded for it at build time, so the owner knows what to reinstall or rebuild.
    """
