"""Refusals the owner contested: "this option is not harmful, rank it".

Little Dan refuses an option its model judges harmful, whatever the profile. The model can be
wrong ("kill the lights before bed" is not violence), so the owner may contest one refusal. The
contest is kept in the encrypted store with the exact option text and applies to that text alone
(case and spacing aside, ``option_key``): a similar text, or any other option, is still judged.
Contests are listed and withdrawn like answers; nothing about them leaves the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge_dan.errors import UsageError
from edge_dan.store.sqlcipher import translated
from edge_dan.store.store import Store, now_iso
from edge_dan.values.judgement import option_key
from edge_dan.values.ranking import clean_option


@dataclass(frozen=True, repr=False)
class Contest:
    id: int
    at: str
    option: str
    reason: str  # the refusal's reason when the owner contested it
    note: str

    def __repr__(self) -> str:  # never the option text
        return f"Contest(id={self.id}, at={self.at!r})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "option": self.option,
            "reason": self.reason,
            "note": self.note,
        }


def add_contest(store: Store, option: str, *, reason: str, note: str = "") -> Contest:
    """Record that the owner contests the refusal of ``option`` (again: the note is updated)."""
    text = clean_option(option, what="the contested option")
    at = now_iso()
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO contests (at, option_key, option, reason, note) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(option_key) DO UPDATE SET at = excluded.at, reason = excluded.reason,"
            " note = excluded.note, option = excluded.option",
            (at, option_key(text), text, str(reason), str(note)),
        )
        row = conn.execute(
            "SELECT id, at, option, reason, note FROM contests WHERE option_key = ?",
            (option_key(text),),
        ).fetchone()
    return Contest(int(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]))


def list_contests(store: Store) -> list[Contest]:
    with translated(store.path):
        rows = store.conn.execute(
            "SELECT id, at, option, reason, note FROM contests ORDER BY id"
        ).fetchall()
    return [Contest(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows]


def contested_keys(store: Store) -> frozenset[str]:
    """The keys of every contested option text (for ``ranking.rank_judged``)."""
    with translated(store.path):
        rows = store.conn.execute("SELECT option_key FROM contests").fetchall()
    return frozenset(str(r[0]) for r in rows)


def withdraw_contest(store: Store, contest_id: int) -> Contest:
    """Forget contest ``contest_id``: that option is judged again like any other."""
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT id, at, option, reason, note FROM contests WHERE id = ?", (contest_id,)
        ).fetchone()
        if row is None:
            raise UsageError(
                f"there is no contest {contest_id}; 'edge-dan contest --list' shows them"
            )
        conn.execute("DELETE FROM contests WHERE id = ?", (contest_id,))
    return Contest(int(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]))
