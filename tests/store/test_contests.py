"""Contested refusals in the store: one exact text, kept encrypted, listed and withdrawn."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_dan.errors import UsageError
from edge_dan.store import KdfParams, Store, schema
from edge_dan.store.contests import add_contest, contested_keys, list_contests, withdraw_contest
from edge_dan.values.judgement import option_key


def test_a_contest_is_kept_for_that_text_only(store: Store) -> None:
    assert schema.version(store.conn) == schema.LATEST >= 6
    c = add_contest(store, "  Kill the lights before bed ", reason="harms another person: violence")
    assert c.option == "Kill the lights before bed"
    assert contested_keys(store) == frozenset({option_key("kill the LIGHTS before   bed")})
    assert option_key("kill the lights before bedtime") not in contested_keys(store)
    # Contesting again updates the note, not a second row.
    again = add_contest(store, "kill the lights before bed", reason="r", note="it's a lamp")
    assert again.id == c.id and [x.note for x in list_contests(store)] == ["it's a lamp"]
    assert "lights" not in repr(again)


def test_withdrawing_a_contest_judges_the_text_again(store: Store) -> None:
    c = add_contest(store, "smash my personal best", reason="harms another person: violence")
    gone = withdraw_contest(store, c.id)
    assert gone.id == c.id and contested_keys(store) == frozenset()
    with pytest.raises(UsageError, match="no contest"):
        withdraw_contest(store, c.id)
    with pytest.raises(UsageError, match="empty"):
        add_contest(store, "   ", reason="r")


def test_contests_survive_reopening_and_stay_encrypted(tmp_path: Path, fast_kdf: KdfParams) -> None:
    home = tmp_path / "h"
    with Store.create(home, "pw pw pw", kdf=fast_kdf) as store:
        add_contest(store, "shoot my boss a quick email", reason="harms another person: violence")
    with Store.open(home, "pw pw pw") as store:
        assert [c.option for c in list_contests(store)] == ["shoot my boss a quick email"]
    for path in home.iterdir():
        if path.is_file():
            assert b"quick email" not in path.read_bytes(), path.name
