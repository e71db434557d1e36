"""``owner.contests``: refusals the owner contested ("this option is not harmful, rank it").

Little Dan refuses an option its model judges harmful, whatever the profile. The model can be
wrong ("kill the lights before bed" is not violence), so the owner may contest one refusal. The
contest is kept with the exact option text and applies to that text alone (case and spacing aside,
``edge_dan.values.judgement.option_key``): a similar text, or any other option, is still judged.
Contests are listed and withdrawn like answers; nothing about them leaves the device.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from edge_dan.owner.errors import UnknownContest
from edge_dan.store.store import Store, now_iso
from edge_dan.values.judgement import option_key
from edge_dan.values.ranking import clean_option

_SELECT = "SELECT id, at, option, reason, note FROM contests"


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


def _contest(row: Any) -> Contest:
    return Contest(int(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]))


class Contests:
    """The contested refusals, by number."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, option: str, *, reason: str, note: str = "") -> Contest:
        """Record that the owner contests the refusal of ``option`` (again: the note is updated)."""
        text = clean_option(option, what="the contested option")
        with self._store.transaction() as conn:
            conn.execute(
                "INSERT INTO contests (at, option_key, option, reason, note) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(option_key) DO UPDATE SET at = excluded.at,"
                " reason = excluded.reason, note = excluded.note, option = excluded.option",
                (now_iso(), option_key(text), text, str(reason), str(note)),
            )
            row = conn.execute(_SELECT + " WHERE option_key = ?", (option_key(text),)).fetchone()
        return _contest(row)

    def list(self) -> builtins.list[Contest]:
        rows = self._store.fetch_all(_SELECT + " ORDER BY id")
        return [_contest(r) for r in rows]

    def option_keys(self) -> frozenset[str]:
        """The keys of every contested option text (for ``ranking.rank_judged``)."""
        rows = self._store.fetch_all("SELECT option_key FROM contests")
        return frozenset(str(r[0]) for r in rows)

    def withdraw(self, contest_id: int) -> Contest:
        """Forget contest ``contest_id``: that option is judged again like any other."""
        with self._store.transaction() as conn:
            row = conn.execute(_SELECT + " WHERE id = ?", (contest_id,)).fetchone()
            if row is None:
                raise UnknownContest(f"there is no contest {contest_id}")
            conn.execute("DELETE FROM contests WHERE id = ?", (contest_id,))
        return _contest(row)
