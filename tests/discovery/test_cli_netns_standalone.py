"""``edge-dan pair`` and ``edge-dan negotiate`` without a running agent on their home: the command
starts the agent for its own duration, pairs or negotiates with a partner whose agent runs, and
stops; what it did is kept in the store like anything done through ``edge-dan run``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from netns import Lab
from test_cli_netns import OPTIONS, stored, two_people

pytestmark = pytest.mark.slow


def test_pair_and_negotiate_start_the_agent_themselves_when_none_runs(
    lab: Lab, tmp_path: Path
) -> None:
    ana, ben = two_people(lab, tmp_path)
    ana.start()
    try:
        opening, _ = ana.open_pairing("90", "--yes", "--name", "Ben", "--json")
        joined = ben("pair", "--with", "--yes", "--name", "Ana", "--json")
        assert joined.returncode == 0, joined.stderr
        assert "starting one for this command" in joined.stderr
        out, err = opening.communicate(timeout=60)
        assert opening.returncode == 0, err
        assert json.loads(out)["paired"]["code"] == json.loads(joined.stdout)["paired"]["code"]
        assert not (ben.home / "control.sock").exists()  # Ben's agent ran for the pairing only

        argv = ["negotiate", "Sunday", "--with", "Ana", "--deadline", "30", "--json"]
        for option in OPTIONS:
            argv += ["--option", option]
        done = ben(*argv)
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert summary["agreed"] is True

        # Ben's agent is gone again: Ana's running agent says so by name, within --wait.
        missing = ana("negotiate", "Monday", "--with", "Ben", "--issue", "x=a,b", "--wait", "3")
        assert missing.returncode == 1
        assert "Ben was not seen nearby within 3 s" in missing.stderr
    finally:
        code, _, err = ana.stop()
        assert code == 0, err
    ana_accords, ben_accords = stored(ana)[1], stored(ben)[1]
    assert len(ana_accords) == 1 and ana_accords == ben_accords
