"""The owner's answers ("I prefer A over B"), the personal model fitted to them, and their log.

Each answer keeps both option texts (inside the encrypted store only; they never reach a log, an
error message or a ``repr``) and the value-model scores they had when the owner answered, so the
personal model can be refitted from the answers alone. Adding or undoing an answer refits the
model from the profile's prior over the remaining answers, stores the fitted state and logs the
change in one transaction. Because the fit is deterministic, undoing the last answer restores the
model (and every ranking made with it) exactly as it was before that answer.

The fitted state in ``personal_model`` is a snapshot for inspection; ``personal_model()`` always
refits from the current profile, so a later quiz or edit moves the prior under the same answers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from edge_dan.errors import StoreError, UsageError
from edge_dan.store.profiles import current_profile
from edge_dan.store.sqlcipher import Connection, translated
from edge_dan.store.store import Store, now_iso
from edge_dan.values.personal import PersonalModel
from edge_dan.values.profile import ProfileChange, ValueProfile
from edge_dan.values.ranking import clean_pair
from edge_dan.values.schwartz import CATEGORIES, ORIGINAL_VALUES

Action = Literal["add", "undo"]

_SELECT = (
    "SELECT id, at, preferred, rejected, preferred_scores, rejected_scores, tier FROM feedback"
)


@dataclass(frozen=True, repr=False)
class Feedback:
    """One answer: ``preferred`` was chosen over ``rejected``."""

    id: int
    at: str  # ISO 8601, UTC
    preferred: str
    rejected: str
    preferred_scores: tuple[float, ...]  # the 10 value effects when the owner answered (20
    # category scores in answers kept before signed effects)
    rejected_scores: tuple[float, ...]
    tier: str  # the value model tier that scored them

    def __repr__(self) -> str:  # never the option texts
        return f"Feedback(id={self.id}, at={self.at!r}, tier={self.tier!r})"

    def to_dict(self, *, with_scores: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "at": self.at,
            "preferred": self.preferred,
            "rejected": self.rejected,
            "tier": self.tier,
        }
        if with_scores:
            out["preferred_scores"] = list(self.preferred_scores)
            out["rejected_scores"] = list(self.rejected_scores)
        return out


@dataclass(frozen=True)
class HistoryEntry:
    """An answer added or undone, with how it moved the learned weights (on the [0, 1] profile
    scale, see ``PersonalModel.implied_profile``)."""

    id: int
    action: Action
    feedback_id: int
    change: ProfileChange

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "feedback_id": self.feedback_id,
            **self.change.to_dict(),
        }


@dataclass(frozen=True)
class Outcome:
    """What adding or undoing an answer did."""

    feedback: Feedback
    before: PersonalModel
    after: PersonalModel
    change: ProfileChange


def _scores(name: str, scores: npt.ArrayLike) -> tuple[float, ...]:
    """One option's 10 signed value effects in [-1, 1] (or, from older tiers, its 20 category
    probabilities in [0, 1])."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if s.shape not in ((len(ORIGINAL_VALUES),), (len(CATEGORIES),)):
        raise UsageError(f"{name} must be the {len(ORIGINAL_VALUES)} value effects of one option")
    low = -1.0 if len(s) == len(ORIGINAL_VALUES) else 0.0
    if not np.all(np.isfinite(s)) or np.any(s < low) or np.any(s > 1.0):
        raise UsageError(f"{name} must lie within [{low:g}, 1]")
    return tuple(float(x) for x in s)


def _stored_scores(raw: str) -> tuple[float, ...]:
    data = json.loads(raw)
    if (
        not isinstance(data, list)
        or len(data) not in (len(ORIGINAL_VALUES), len(CATEGORIES))
        or not all(isinstance(x, int | float) and math.isfinite(x) for x in data)
    ):
        raise StoreError("a stored answer has malformed scores")
    return tuple(float(x) for x in data)


def _row(row: Any) -> Feedback:
    fid, at, preferred, rejected, ps, rs, tier = row
    return Feedback(
        int(fid),
        str(at),
        str(preferred),
        str(rejected),
        _stored_scores(ps),
        _stored_scores(rs),
        str(tier),
    )


def _answers(conn: Connection) -> list[Feedback]:
    return [_row(r) for r in conn.execute(_SELECT + " ORDER BY id").fetchall()]


def _fit(profile: ValueProfile, answers: Sequence[Feedback]) -> PersonalModel:
    return PersonalModel.from_profile(
        profile, [(a.preferred_scores, a.rejected_scores) for a in answers]
    )


def _change(
    before: PersonalModel, after: PersonalModel, action: Action, feedback_id: int, at: str
) -> ProfileChange:
    old, new = before.implied_profile(), after.implied_profile()
    moved = {v: (old[v], new[v]) for v in old if old[v] != new[v]}
    verb = "added" if action == "add" else "undone"
    return ProfileChange.from_dict(
        {
            "at": at,
            "source": "feedback",
            "changes": moved,
            "note": f"answer {feedback_id} {verb}",
        }
    )


def _commit(
    conn: Connection,
    before: PersonalModel,
    after: PersonalModel,
    *,
    action: Action,
    feedback_id: int,
    at: str,
) -> ProfileChange:
    change = _change(before, after, action, feedback_id, at)
    conn.execute(
        "INSERT INTO personal_model (id, state, fitted_at) VALUES (1, ?, ?)"
        " ON CONFLICT(id) DO UPDATE SET state = excluded.state, fitted_at = excluded.fitted_at",
        (json.dumps(after.to_dict(), sort_keys=True), at),
    )
    conn.execute(
        "INSERT INTO feedback_history (at, action, feedback_id, changes) VALUES (?, ?, ?, ?)",
        (at, action, feedback_id, json.dumps(change.to_dict()["changes"], sort_keys=True)),
    )
    return change


def personal_model(store: Store) -> PersonalModel:
    """The owner's personal model now: the current profile's prior refined by every answer."""
    with translated(store.path):
        return _fit(current_profile(store), _answers(store.conn))


def list_feedback(store: Store) -> list[Feedback]:
    """Every answer kept, oldest first."""
    with translated(store.path):
        return _answers(store.conn)


def add_feedback(
    store: Store,
    preferred: str,
    rejected: str,
    preferred_scores: npt.ArrayLike,
    rejected_scores: npt.ArrayLike,
    *,
    tier: str,
) -> Outcome:
    """Keep the answer "``preferred`` over ``rejected``" and refit the personal model."""
    preferred, rejected = clean_pair(preferred, rejected)
    ps = _scores("the preferred option's scores", preferred_scores)
    rs = _scores("the rejected option's scores", rejected_scores)
    at = now_iso()
    with store.transaction() as conn:
        profile = current_profile(store)
        answers = _answers(conn)
        before = _fit(profile, answers)
        cur = conn.execute(
            "INSERT INTO feedback (at, preferred, rejected, preferred_scores, rejected_scores,"
            " tier) VALUES (?, ?, ?, ?, ?, ?)",
            (at, preferred, rejected, json.dumps(ps), json.dumps(rs), str(tier)),
        )
        answer = Feedback(int(cur.lastrowid), at, preferred, rejected, ps, rs, str(tier))
        after = before.feedback(ps, rs)
        change = _commit(conn, before, after, action="add", feedback_id=answer.id, at=at)
    return Outcome(answer, before, after, change)


def undo_feedback(store: Store, feedback_id: int | None = None) -> Outcome:
    """Forget answer ``feedback_id`` (the last one if ``None``) and refit without it."""
    at = now_iso()
    with store.transaction() as conn:
        answers = _answers(conn)
        if not answers:
            raise UsageError("there is no answer to undo")
        if feedback_id is None:
            position = len(answers) - 1
        else:
            found = [i for i, a in enumerate(answers) if a.id == feedback_id]
            if not found:
                raise UsageError(
                    f"there is no answer {feedback_id}; 'edge-dan feedback --list' shows them"
                )
            position = found[0]
        answer = answers[position]
        profile = current_profile(store)
        before = _fit(profile, answers)
        after = _fit(profile, answers[:position] + answers[position + 1 :])
        conn.execute("DELETE FROM feedback WHERE id = ?", (answer.id,))
        change = _commit(conn, before, after, action="undo", feedback_id=answer.id, at=at)
    with translated(store.path):
        # secure_delete overwrites the freed cells once the pages reach the database file; a
        # checkpoint puts them there now, so the forgotten texts leave the write-ahead log too.
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return Outcome(answer, before, after, change)


def feedback_history(store: Store, *, limit: int | None = None) -> list[HistoryEntry]:
    """Answers added and undone, oldest first (the last ``limit`` when given)."""
    with translated(store.path):
        rows = store.conn.execute(
            "SELECT id, at, action, feedback_id, changes FROM feedback_history"
            " ORDER BY id DESC LIMIT ?",
            (-1 if limit is None else limit,),
        ).fetchall()
    out = []
    for hid, at, action, fid, changes in reversed(rows):
        if action not in ("add", "undo"):
            raise StoreError(f"a stored feedback log entry has an unknown action {action!r}")
        verb = "added" if action == "add" else "undone"
        change = ProfileChange.from_dict(
            {
                "at": at,
                "source": "feedback",
                "changes": json.loads(changes),
                "note": f"answer {fid} {verb}",
            }
        )
        out.append(HistoryEntry(int(hid), action, int(fid), change))
    return out


def stored_state(store: Store) -> dict[str, Any] | None:
    """The personal model as last fitted and kept (``None`` before the first answer)."""
    with translated(store.path):
        row = store.conn.execute(
            "SELECT state, fitted_at FROM personal_model WHERE id = 1"
        ).fetchone()
    if row is None:
        return None
    state = json.loads(row[0])
    if not isinstance(state, dict):
        raise StoreError("the stored personal model is malformed")
    state["fitted_at"] = str(row[1])
    return state
