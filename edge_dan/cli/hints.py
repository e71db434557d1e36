"""What to run about an error: the CLI's addition to messages that only say what is wrong.

The layers below name no command (a library's caller may have none); the CLI prints
``message(error)``, which adds the command that helps when there is one.
"""

from __future__ import annotations

from edge_dan.errors import EdgeDanError, StoreCorrupt, StoreNotFound
from edge_dan.owner.errors import AmbiguousPeer, UnknownAnswer, UnknownContest, UnknownPeer
from edge_dan.store.home import SettingsCorrupt

# First match wins; an empty hint means the message already says what to do.
HINTS: tuple[tuple[type[EdgeDanError], str], ...] = (
    (StoreNotFound, "create one with 'edge-dan init'"),
    (SettingsCorrupt, ""),
    (StoreCorrupt, "restore it from a backup with 'edge-dan import'"),
    (UnknownAnswer, "'edge-dan feedback --list' shows them"),
    (UnknownContest, "'edge-dan contest --list' shows them"),
    (UnknownPeer, "'edge-dan partners' lists them"),
    (AmbiguousPeer, "'edge-dan partners' lists them"),
)


def hint(error: EdgeDanError) -> str:
    for kind, text in HINTS:
        if isinstance(error, kind):
            return text
    return ""


def message(error: EdgeDanError) -> str:
    """``error``'s message, and what to run about it."""
    text = hint(error)
    return f"{error}; {text}" if text else str(error)
