"""The owner's contested refusals: one exact text, kept encrypted, listed and withdrawn."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_dan.errors import UsageError
from edge_dan.owner import SCHEMA, Owner, UnknownContest
from edge_dan.store import KdfParams
from edge_dan.store.schema import version
from edge_dan.values.judgement import option_key


def test_a_contest_is_kept_for_that_text_only(owner: Owner) -> None:
    assert version(owner.store.conn) == SCHEMA.latest >= 6
    c = owner.contests.add("  Kill the lights before bed ", reason="harms another person: violence")
    assert c.option == "Kill the lights before bed"
    assert owner.contests.option_keys() == frozenset({option_key("kill the LIGHTS before   bed")})
    assert option_key("kill the lights before bedtime") not in owner.contests.option_keys()
    # Contesting again updates the note, not a second row.
    again = owner.contests.add("kill the lights before bed", reason="r", note="it's a lamp")
    assert again.id == c.id and [x.note for x in owner.contests.list()] == ["it's a lamp"]
    assert "lights" not in repr(again)


def test_withdrawing_a_contest_judges_the_text_again(owner: Owner) -> None:
    c = owner.contests.add("smash my personal best", reason="harms another person: violence")
    gone = owner.contests.withdraw(c.id)
    assert gone.id == c.id and owner.contests.option_keys() == frozenset()
    with pytest.raises(UnknownContest, match="no contest") as refused:
        owner.contests.withdraw(c.id)
    assert isinstance(refused.value, UsageError) and "edge-dan" not in str(refused.value)
    with pytest.raises(UsageError, match="empty"):
        owner.contests.add("   ", reason="r")


def test_contests_survive_reopening_and_stay_encrypted(tmp_path: Path, fast_kdf: KdfParams) -> None:
    home = tmp_path / "h"
    with Owner.create(home, "pw pw pw", kdf=fast_kdf) as owner:
        owner.contests.add("shoot my boss a quick email", reason="harms another person: violence")
    with Owner.open(home, "pw pw pw") as owner:
        assert [c.option for c in owner.contests.list()] == ["shoot my boss a quick email"]
    for path in home.iterdir():
        if path.is_file():
            assert b"quick email" not in path.read_bytes(), path.name
