"""``owner.profile``: the owner's value profile, its whole history, and questionnaire answers.

Every change to the profile is written together with its history entry in one transaction, so the
history always explains exactly how the current profile came about.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from edge_dan.errors import StoreCorrupt, UsageError
from edge_dan.store.jsontext import load_json
from edge_dan.store.sqlcipher import Connection
from edge_dan.store.store import Store
from edge_dan.values.profile import ChangeSource, ProfileChange, ValueProfile
from edge_dan.values.questionnaire import ANSWER_MAX, ANSWER_MIN, ITEMS_BY_ID, QuizResult, score


def read_profile(conn: Connection) -> ValueProfile:
    """The profile as ``conn`` sees it (inside a caller's transaction, too)."""
    rows = dict(conn.execute("SELECT value, weight FROM profile").fetchall())
    return ValueProfile.from_dict(rows) if rows else ValueProfile.neutral()


def stored_json(text: Any, what: str) -> Any:
    """A JSON column as written by this package; ``StoreCorrupt`` if it is not JSON."""
    if not isinstance(text, str):
        raise StoreCorrupt(f"{what} is not text")
    try:
        return load_json(text)
    except ValueError as exc:
        raise StoreCorrupt(f"{what} is not valid JSON ({exc})") from None


def history_change(row: Any) -> ProfileChange:
    """One ``profile_history`` row (at, source, changes, note) as the change it records."""
    at, source, changes, note = row
    return ProfileChange.from_dict(
        {
            "at": at,
            "source": source,
            "changes": stored_json(changes, "a stored profile change"),
            "note": note,
        }
    )


def _apply(
    conn: Connection, new: ValueProfile, source: ChangeSource, note: str
) -> ProfileChange | None:
    change = ProfileChange.between(read_profile(conn), new, source=source, note=note)
    if not change.changes and source != "init":
        return None
    conn.executemany(
        "INSERT INTO profile (value, weight) VALUES (?, ?)"
        " ON CONFLICT(value) DO UPDATE SET weight = excluded.weight",
        list(new.to_dict().items()),
    )
    record = change.to_dict()
    conn.execute(
        "INSERT INTO profile_history (at, source, changes, note) VALUES (?, ?, ?, ?)",
        (record["at"], record["source"], json.dumps(record["changes"]), record["note"]),
    )
    return change


class Profile:
    """The current profile and how it came about."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def current(self) -> ValueProfile:
        """The owner's profile now (neutral until the owner has said anything)."""
        return self._store.read(read_profile)

    def update(
        self, new: ValueProfile, *, source: ChangeSource, note: str = ""
    ) -> ProfileChange | None:
        """Make ``new`` the profile and log the change; ``None`` when nothing changed."""
        with self._store.transaction() as conn:
            return _apply(conn, new, source, note)

    def edit(
        self, changes: Mapping[str, float], *, note: str = ""
    ) -> tuple[ValueProfile, ProfileChange | None]:
        """Apply the owner's own edits (value name -> weight) atomically."""
        with self._store.transaction() as conn:
            profile = read_profile(conn).edit(changes)
            return profile, _apply(conn, profile, "edit", note)

    def record_quiz(self, answers: Mapping[str, int], result: QuizResult) -> ProfileChange | None:
        """Keep the questionnaire answers and make its profile current, in one transaction."""
        with self._store.transaction() as conn:
            stored = {
                "raw": result.raw,
                "centered": result.centered,
                "weights": result.weights,
                "uniform": result.uniform,
            }
            conn.execute(
                "INSERT INTO quiz_responses (at, answers, result) VALUES (datetime('now'), ?, ?)",
                (json.dumps(dict(answers), sort_keys=True), json.dumps(stored, sort_keys=True)),
            )
            return _apply(conn, result.profile, "quiz", "questionnaire")

    def take_quiz(self, answers: Mapping[str, int]) -> QuizResult:
        """Score the questionnaire's answers (item id -> 1..6, every item) and keep them, with
        the profile they give, in one transaction; ``ProfileError`` before anything changes
        when an answer is missing, unknown or out of range."""
        result = score(answers)
        self.record_quiz(answers, result)
        return result

    def quiz_answers(self) -> dict[str, int] | None:
        """The newest questionnaire answers kept (item id -> 1..6), or ``None`` if never taken."""
        row = self._store.fetch_one("SELECT answers FROM quiz_responses ORDER BY id DESC LIMIT 1")
        if row is None:
            return None
        answers = stored_json(row[0], "stored questionnaire answers")
        valid = isinstance(answers, dict) and all(
            k in ITEMS_BY_ID and type(v) is int and ANSWER_MIN <= v <= ANSWER_MAX
            for k, v in answers.items()
        )
        if not valid:
            raise StoreCorrupt("stored questionnaire answers are not item ids with answers 1-6")
        return dict(answers)

    def history(self, *, limit: int | None = None) -> list[ProfileChange]:
        """Changes oldest first (the last ``limit`` when given)."""
        rows = self._store.fetch_all(
            "SELECT at, source, changes, note FROM profile_history ORDER BY id DESC LIMIT ?",
            (sql_limit(limit),),
        )
        return [history_change(row) for row in reversed(rows)]


LARGEST_LIMIT = 2**63 - 1  # SQLite's largest INTEGER


def sql_limit(limit: int | None) -> int:
    """``limit`` for SQL's ``LIMIT ?`` (``-1``: no limit); ``UsageError`` out of range.

    SQLite reads a negative LIMIT as "no limit" and cannot bind an int above 2**63 - 1.
    """
    if limit is None:
        return -1
    if not 0 <= limit <= LARGEST_LIMIT:
        raise UsageError(f"a history limit is a whole number from 0 to {LARGEST_LIMIT}")
    return limit
