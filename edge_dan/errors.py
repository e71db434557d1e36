"""The one error hierarchy of edge_dan.

Every failure a person can act on is an ``EdgeDanError`` subclass whose message says what went
wrong and, where possible, what to do about it. The CLI prints ``str(error)`` on one line and exits
with ``error.exit_code``; anything that is not an ``EdgeDanError`` is a bug and shows a traceback
only under ``--debug``.
"""

from __future__ import annotations


class EdgeDanError(Exception):
    """Base class of every error edge_dan raises on purpose."""

    exit_code: int = 1


class UsageError(EdgeDanError):
    """The caller asked for something malformed (bad argument, unknown name, out of range)."""

    exit_code = 2


class StoreError(EdgeDanError):
    """Something about the encrypted store prevents the operation."""


class StoreNotFound(StoreError):
    """There is no store in the home directory yet (run ``edge-dan init``)."""


class StoreExists(StoreError):
    """``init`` was asked to create a store where one already exists."""


class WrongPassphrase(StoreError):
    """The passphrase does not unwrap the database key."""

    exit_code = 3


class PassphraseUnavailable(StoreError):
    """No passphrase source could be used (no terminal, no environment variable, no keyring)."""


class StoreCorrupt(StoreError):
    """A store file fails its integrity check (tampering, disk error or truncation)."""

    exit_code = 4


class StoreBusy(StoreError):
    """Another process held the store's write lock longer than the busy timeout."""


class KeyringUnavailable(StoreError):
    """The OS keyring was requested but no usable backend is installed."""


class BackupError(StoreError):
    """A backup file is malformed, from an unknown version, or does not match its passphrase."""


class ProfileError(UsageError):
    """A value profile edit or questionnaire answer is invalid."""
