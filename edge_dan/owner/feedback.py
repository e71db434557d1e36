"""``owner.feedback``: the owner's answers ("I prefer A over B"), the model fitted to them, a log.

Each answer keeps both option texts (inside the encrypted store only; they never reach a log, an
error message or a ``repr``) and the value-model scores they had when the owner answered. Adding or
undoing an answer refits the personal model (``edge_dan.values.answers.fit``: the profile's prior
over the remaining answers), stores the fitted state and logs the change in one transaction, so
undoing the last answer restores the model exactly as it was before it.

The fitted state in ``personal_model`` is a snapshot for inspection; ``Feedback.model()`` always
refits from the current profile, so a later quiz or edit moves the prior under the same answers.
"""

from __future__ import annotations

import builtins
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy.typing as npt

from edge_dan.errors import StoreError, UsageError
from edge_dan.owner.errors import UnknownAnswer
from edge_dan.owner.profile import read_profile, sql_limit, stored_json
from edge_dan.store.sqlcipher import Connection
from edge_dan.store.store import Store, now_iso
from edge_dan.values.answers import check_scores, fit, learned_change
from edge_dan.values.personal import PersonalModel
from edge_dan.values.profile import ProfileChange
from edge_dan.values.ranking import clean_pair
from edge_dan.values.schwartz import CATEGORIES, ORIGINAL_VALUES

Action = Literal["add", "undo"]

_SELECT = (
    "SELECT id, at, preferred, rejected, preferred_scores, rejected_scores, tier FROM feedback"
)


@dataclass(frozen=True, repr=False)
class Answer:
    """One answer kept: ``preferred`` was chosen over ``rejected``."""

    id: int
    at: str  # ISO 8601, UTC
    preferred: str
    rejected: str
    preferred_scores: tuple[float, ...]  # the 10 value effects when the owner answered (20
    # category scores in answers kept before signed effects)
    rejected_scores: tuple[float, ...]
    tier: str  # the value model tier that scored them

    def __repr__(self) -> str:  # never the option texts
        return f"Answer(id={self.id}, at={self.at!r}, tier={self.tier!r})"

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

    answer: Answer
    before: PersonalModel
    after: PersonalModel
    change: ProfileChange


def _note(feedback_id: int, action: Action) -> str:
    return f"answer {feedback_id} {'added' if action == 'add' else 'undone'}"


def _stored_scores(raw: str) -> tuple[float, ...]:
    data = stored_json(raw, "a stored answer's scores")
    if (
        not isinstance(data, list)
        or len(data) not in (len(ORIGINAL_VALUES), len(CATEGORIES))
        or not all(isinstance(x, int | float) and math.isfinite(x) for x in data)
    ):
        raise StoreError("a stored answer has malformed scores")
    return tuple(float(x) for x in data)


def answer_from_row(row: Any) -> Answer:
    fid, at, preferred, rejected, ps, rs, tier = row
    return Answer(
        int(fid),
        str(at),
        str(preferred),
        str(rejected),
        _stored_scores(ps),
        _stored_scores(rs),
        str(tier),
    )


def feedback_log_change(row: Any) -> ProfileChange:
    """One ``feedback_history`` row (at, action, feedback_id, changes) as the change it logs."""
    at, action, feedback_id, changes = row
    if action not in ("add", "undo"):
        raise StoreError(f"a stored feedback log entry has an unknown action {action!r}")
    return ProfileChange.from_dict(
        {
            "at": at,
            "source": "feedback",
            "changes": stored_json(changes, "a stored feedback log entry"),
            "note": _note(int(feedback_id), action),
        }
    )


def _answers(conn: Connection) -> builtins.list[Answer]:
    return [answer_from_row(r) for r in conn.execute(_SELECT + " ORDER BY id").fetchall()]


def _commit(
    conn: Connection,
    before: PersonalModel,
    after: PersonalModel,
    *,
    action: Action,
    feedback_id: int,
    at: str,
) -> ProfileChange:
    note = _note(feedback_id, action)
    change = learned_change(before, after, at=datetime.fromisoformat(at), note=note)
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


class Feedback:
    """The answers, the personal model they refine, and the log of answers added and undone."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def model(self) -> PersonalModel:
        """The owner's personal model now: the current profile's prior refined by every answer."""
        return self._store.read(lambda conn: fit(read_profile(conn), _answers(conn)))

    def list(self) -> builtins.list[Answer]:
        """Every answer kept, oldest first."""
        return self._store.read(_answers)

    def add(
        self,
        preferred: str,
        rejected: str,
        preferred_scores: npt.ArrayLike,
        rejected_scores: npt.ArrayLike,
        *,
        tier: str,
    ) -> Outcome:
        """Keep the answer "``preferred`` over ``rejected``" and refit the personal model."""
        preferred, rejected = clean_pair(preferred, rejected)
        ps = check_scores("the preferred option's scores", preferred_scores)
        rs = check_scores("the rejected option's scores", rejected_scores)
        at = now_iso()
        with self._store.transaction() as conn:
            before = fit(read_profile(conn), _answers(conn))
            cur = conn.execute(
                "INSERT INTO feedback (at, preferred, rejected, preferred_scores,"
                " rejected_scores, tier) VALUES (?, ?, ?, ?, ?, ?)",
                (at, preferred, rejected, json.dumps(ps), json.dumps(rs), str(tier)),
            )
            answer = Answer(int(cur.lastrowid), at, preferred, rejected, ps, rs, str(tier))
            after = before.feedback(ps, rs)
            change = _commit(conn, before, after, action="add", feedback_id=answer.id, at=at)
        return Outcome(answer, before, after, change)

    def undo(self, answer_id: int | None = None) -> Outcome:
        """Forget answer ``answer_id`` (the last one if ``None``) and refit without it."""
        at = now_iso()
        with self._store.transaction() as conn:
            answers = _answers(conn)
            if not answers:
                raise UsageError("there is no answer to undo")
            if answer_id is None:
                position = len(answers) - 1
            else:
                found = [i for i, a in enumerate(answers) if a.id == answer_id]
                if not found:
                    raise UnknownAnswer(f"there is no answer {answer_id}")
                position = found[0]
            answer = answers[position]
            profile = read_profile(conn)
            before = fit(profile, answers)
            after = fit(profile, answers[:position] + answers[position + 1 :])
            conn.execute("DELETE FROM feedback WHERE id = ?", (answer.id,))
            change = _commit(conn, before, after, action="undo", feedback_id=answer.id, at=at)
        self._store.checkpoint()  # the deleted cells leave the write-ahead log too
        return Outcome(answer, before, after, change)

    def history(self, *, limit: int | None = None) -> builtins.list[HistoryEntry]:
        """Answers added and undone, oldest first (the last ``limit`` when given)."""
        rows = self._store.fetch_all(
            "SELECT id, at, action, feedback_id, changes FROM feedback_history"
            " ORDER BY id DESC LIMIT ?",
            (sql_limit(limit),),
        )
        return [
            HistoryEntry(int(row[0]), row[2], int(row[3]), feedback_log_change(row[1:]))
            for row in reversed(rows)
        ]

    def stored_state(self) -> dict[str, Any] | None:
        """The personal model as last fitted and kept (``None`` before the first answer)."""
        row = self._store.fetch_one("SELECT state, fitted_at FROM personal_model WHERE id = 1")
        if row is None:
            return None
        state = stored_json(row[0], "the stored personal model")
        if not isinstance(state, dict):
            raise StoreError("the stored personal model is malformed")
        state["fitted_at"] = str(row[1])
        return state
