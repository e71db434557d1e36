"""``edge-dan run --ask`` on a real terminal (a pty): the owner approves each accord before Little
Dan signs it, and no answer in time declines, so nothing is signed or kept on either side."""

from __future__ import annotations

import json
from pathlib import Path

import pexpect
import pytest
from cli_agent import cli_env, edge_dan
from netns import Lab
from test_cli_netns import OPTIONS, offer_key, stored, two_people

pytestmark = pytest.mark.slow


def test_ask_signs_only_on_the_owners_yes_and_declines_when_nobody_answers(
    lab: Lab, tmp_path: Path
) -> None:
    ana, ben = two_people(lab, tmp_path)
    ana.start()
    run = edge_dan(ben.home, "run", "--interface", "eth0", "--ask", "--ask-timeout", "4")
    argv = ["ip", "netns", "exec", ben.node.netns, *run]
    ben_terminal = pexpect.spawn(argv[0], argv[1:], env=cli_env(), encoding="utf-8", timeout=60)
    try:
        ben_terminal.expect_exact("control-socket")
        opening, _ = ana.open_pairing("90", "--yes", "--name", "Ben")
        joined = ben("pair", "--with", offer_key(ben), "--yes", "--name", "Ana")
        assert joined.returncode == 0, joined.stderr
        assert opening.wait(timeout=60) == 0

        negotiate = ["negotiate", "Saturday", "--with", "Ben", "--deadline", "30", "--json"]
        for option in OPTIONS:
            negotiate += ["--option", option]
        asking = ana.popen(*negotiate)
        ben_terminal.expect_exact("Little Dan would agree to: ")
        ben_terminal.expect_exact("Sign it? [y/N]")
        ben_terminal.sendline("y")
        out, err = asking.communicate(timeout=60)
        assert asking.returncode == 0, err
        agreed = json.loads(out)
        assert agreed["agreed"] is True

        unanswered = ana(*negotiate)  # Ben's owner is away: declined after 4 s
        ben_terminal.expect_exact("no answer: declined")
        assert unanswered.returncode == 1, unanswered.stderr
        assert json.loads(unanswered.stdout)["agreed"] is False
        assert "nothing was signed" in unanswered.stderr
    finally:
        ben_terminal.kill(15)
        ben_terminal.expect(pexpect.EOF)
        ben_terminal.close()
        code, _, err = ana.stop()
        assert code == 0, err
    assert ben_terminal.exitstatus == 0
    ana_accords, ben_accords = stored(ana)[1], stored(ben)[1]
    assert len(ana_accords) == 1 and ana_accords == ben_accords


def test_killing_an_agent_mid_negotiation_fails_it_for_the_other_and_nothing_is_kept(
    lab: Lab, tmp_path: Path
) -> None:
    ana, ben = two_people(lab, tmp_path)
    ana.start()
    run = edge_dan(ben.home, "run", "--interface", "eth0", "--ask", "--ask-timeout", "600")
    argv = ["ip", "netns", "exec", ben.node.netns, *run]
    ben_terminal = pexpect.spawn(argv[0], argv[1:], env=cli_env(), encoding="utf-8", timeout=60)
    try:
        ben_terminal.expect_exact("control-socket")
        opening, _ = ana.open_pairing("90", "--yes", "--name", "Ben")
        assert ben("pair", "--with", "--yes", "--name", "Ana").returncode == 0
        assert opening.wait(timeout=60) == 0
        negotiate = ["negotiate", "Saturday", "--with", "Ben", "--deadline", "20", "--json"]
        for option in OPTIONS:
            negotiate += ["--option", option]
        asking = ana.popen(*negotiate)
        # Ben's agent is about to sign (it asks its owner first) when it is killed outright.
        ben_terminal.expect_exact("Sign it? [y/N]")
        ben_terminal.kill(9)
        out, err = asking.communicate(timeout=60)
        assert asking.returncode == 1, err
        assert json.loads(out)["agreed"] is False and "Traceback" not in err
    finally:
        ben_terminal.close(force=True)
        code, _, err = ana.stop()
        assert code == 0, err
    ana_accords, ben_accords = stored(ana)[1], stored(ben)[1]
    assert ana_accords == [] and ben_accords == []
