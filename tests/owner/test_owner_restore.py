"""Restoring a backup someone else made: the owner's schema is rebuilt, every row checked (#14).

A backup proves only that its maker knew its passphrase. These backups are made the way an
attacker would: a real store, altered with plain SQL, exported with the real code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_dan.errors import BackupError, StoreCorrupt, StoreError
from edge_dan.owner import SCHEMA, Owner
from edge_dan.owner.checks import ROW_CHECKS, WHOLE_TABLES
from edge_dan.store import KdfParams, Store, export_backup
from edge_dan.values import ORIGINAL_VALUES

PASS = "correct horse"
BACKUP_PASS = "backup words"
SCORES = [0.1 * i for i in range(len(ORIGINAL_VALUES))]


def _made(tmp_path: Path, kdf: KdfParams, *planted: str) -> Path:
    """A backup of a store with some of everything in it, then ``planted`` SQL run on it."""
    with Owner.create(tmp_path / "maker", PASS, kdf=kdf) as owner:
        owner.identity.ensure()
        owner.advertising.own_key()
        owner.profile.edit({"benevolence": 0.9}, note="mine")
        owner.feedback.add("Help a friend move", "Watch TV", SCORES, SCORES[::-1], tier="t")
        owner.feedback.add("Call my aunt", "Skip the call", SCORES[::-1], SCORES, tier="t")
        owner.feedback.undo()  # answer 2 is gone; its number must never be given out again
        owner.contests.add("Kill the lights", reason="violence")
        for statement in planted:
            owner.store.conn.execute(statement)
        owner.store.conn.commit()
        path = tmp_path / "made.backup"
        export_backup(owner.store, path, BACKUP_PASS, kdf=kdf)
    return path


def _kinds(store: Store) -> set[tuple[str, str]]:
    rows = store.fetch_all("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    return {(str(kind), str(name)) for kind, name in rows}


def test_a_restore_keeps_every_row_and_the_exact_schema(
    tmp_path: Path, fast_kdf: KdfParams
) -> None:
    backup = _made(tmp_path, fast_kdf)
    with Owner.create(tmp_path / "fresh", PASS, kdf=fast_kdf) as fresh:
        schema = _kinds(fresh.store)
    with Owner.open(tmp_path / "maker", PASS) as maker:
        expected = (
            maker.identity.get(),
            maker.profile.current(),
            maker.profile.history(),
            [a.to_dict(with_scores=True) for a in maker.feedback.list()],
            [h.to_dict() for h in maker.feedback.history()],
            maker.feedback.stored_state(),
            [c.to_dict() for c in maker.contests.list()],
            maker.advertising.own_key(),
        )
    with Owner.restore(tmp_path / "restored", backup, BACKUP_PASS, kdf=fast_kdf) as restored:
        assert _kinds(restored.store) == schema
        assert (
            restored.identity.get(),
            restored.profile.current(),
            restored.profile.history(),
            [a.to_dict(with_scores=True) for a in restored.feedback.list()],
            [h.to_dict() for h in restored.feedback.history()],
            restored.feedback.stored_state(),
            [c.to_dict() for c in restored.contests.list()],
            restored.advertising.own_key(),
        ) == expected
        third = restored.feedback.add("Bake bread", "Buy bread", SCORES, SCORES, tier="t")
        assert third.answer.id == 3  # not 2: that one was given out (and undone) before


def test_planted_triggers_views_tables_and_columns_do_not_survive(
    tmp_path: Path, fast_kdf: KdfParams
) -> None:
    backup = _made(
        tmp_path,
        fast_kdf,
        "CREATE TRIGGER wipe AFTER INSERT ON profile_history BEGIN DELETE FROM profile; END",
        "CREATE VIEW everything AS SELECT * FROM identity",
        "CREATE TABLE exfiltrate (x)",
        "ALTER TABLE contests ADD COLUMN extra TEXT DEFAULT 'x'",
    )
    with Owner.restore(tmp_path / "restored", backup, BACKUP_PASS, kdf=fast_kdf) as restored:
        kinds = _kinds(restored.store)
        assert not {k for k in kinds if k[0] in ("trigger", "view")}
        assert ("table", "exfiltrate") not in kinds
        assert "extra" not in {c.name for c in restored.store.db.table("contests").columns}
        restored.profile.edit({"power": 0.2}, note="after restore")  # what fired the trigger
        profile = restored.profile.current()
        assert profile.weight("benevolence") == 0.9 and profile.weight("power") == 0.2


@pytest.mark.parametrize(
    ("planted", "table"),
    [
        (["UPDATE profile SET weight = 7 WHERE value = 'power'"], "profile"),
        (["DELETE FROM profile WHERE value = 'power'"], "profile"),
        (["UPDATE profile_history SET changes = '{not json'"], "profile_history"),
        ([f"UPDATE profile_history SET changes = '{'[' * 100_000}'"], "profile_history"),
        (["UPDATE feedback SET preferred_scores = '[1, 2]'"], "feedback"),
        (["UPDATE feedback_history SET changes = '[]'"], "feedback_history"),
        (  # our CHECK constraints apply again on the way in, whatever the maker switched off
            ["PRAGMA ignore_check_constraints = ON", "UPDATE feedback_history SET action = 'x'"],
            "feedback_history",
        ),
        (["UPDATE personal_model SET state = '[]'"], "personal_model"),
        (["UPDATE contests SET option_key = 'something else'"], "contests"),
        (["UPDATE identity SET static_signature = zeroblob(64)"], "identity"),
        (["UPDATE quiz_responses SET answers = 'x'"], None),  # no row: nothing to refuse
        (
            [
                "DROP TABLE advertising_key",
                "CREATE TABLE advertising_key (id INTEGER PRIMARY KEY, key BLOB, created_at TEXT)",
                "INSERT INTO advertising_key VALUES (1, x'00', 'now')",
            ],
            "advertising_key",
        ),
    ],
)
def test_a_row_the_api_would_refuse_refuses_the_whole_restore(
    tmp_path: Path, fast_kdf: KdfParams, planted: list[str], table: str | None
) -> None:
    backup = _made(tmp_path, fast_kdf, *planted)
    if table is None:
        Owner.restore(tmp_path / "restored", backup, BACKUP_PASS, kdf=fast_kdf).close()
        return
    with pytest.raises(BackupError, match=rf"\b{table}\b"):
        Owner.restore(tmp_path / "restored", backup, BACKUP_PASS, kdf=fast_kdf)
    assert not Store.exists(tmp_path / "restored")


def test_a_refused_backup_leaves_the_current_store_as_it_was(
    tmp_path: Path, fast_kdf: KdfParams
) -> None:
    backup = _made(tmp_path, fast_kdf, "UPDATE profile SET weight = 7 WHERE value = 'power'")
    with Owner.create(tmp_path / "mine", PASS, kdf=fast_kdf) as mine:
        mine.profile.edit({"power": 0.3}, note="mine")
    with pytest.raises(BackupError, match="profile"):
        Owner.restore(tmp_path / "mine", backup, BACKUP_PASS, store_passphrase=PASS)
    with Owner.open(tmp_path / "mine", PASS) as again:
        assert again.profile.current().weight("power") == 0.3


def test_a_table_missing_from_the_backup_refuses_the_restore(
    tmp_path: Path, fast_kdf: KdfParams
) -> None:
    backup = _made(tmp_path, fast_kdf, "DROP TABLE contests")
    with pytest.raises(StoreError):  # the migrations see version 6 without its table
        Owner.restore(tmp_path / "restored", backup, BACKUP_PASS, kdf=fast_kdf)
    assert not Store.exists(tmp_path / "restored")


def test_every_table_of_the_schema_is_checked(tmp_path: Path, fast_kdf: KdfParams) -> None:
    with Store.create(tmp_path / "s", PASS, kdf=fast_kdf, schema=SCHEMA) as store:
        tables = {
            str(r[0])
            for r in store.fetch_all(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
    assert tables == set(ROW_CHECKS) | set(WHOLE_TABLES)


@pytest.mark.parametrize("changes", ["{not json", "[" * 100_000])
def test_stored_history_that_is_not_json_reads_as_damage_not_a_crash(
    owner: Owner, changes: str
) -> None:
    owner.profile.edit({"power": 0.2})
    owner.feedback.add("Help a friend move", "Watch TV", SCORES, SCORES[::-1], tier="t")
    with owner.store.transaction() as conn:
        conn.execute("UPDATE profile_history SET changes = ?", (changes,))
        conn.execute("UPDATE feedback_history SET changes = ?", (changes,))
    with pytest.raises(StoreCorrupt, match="not valid JSON"):
        owner.profile.history()
    with pytest.raises(StoreCorrupt, match="not valid JSON"):
        owner.feedback.history()
