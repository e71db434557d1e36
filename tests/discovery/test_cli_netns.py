"""Two people, two machines, only the command line: two ``edge-dan run`` processes in two network
namespaces pair by numeric comparison (``edge-dan pair --open`` on one, ``--with`` on the other)
and negotiate through ``edge-dan negotiate``; both stores then hold the same accord, which
verifies on a third machine that holds neither store. Declining leaves both stores unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from cli_agent import PASSPHRASE, CliNode, cli_env, edge_dan
from netns import Lab

from edge_dan.negotiation import Accord
from edge_dan.owner import Owner

pytestmark = pytest.mark.slow
OPTIONS = ("Cook dinner for grandma and stay for the evening", "Go clubbing until dawn")


def two_people(lab: Lab, tmp_path: Path) -> tuple[CliNode, CliNode]:
    ana = CliNode(lab, lab.nodes[0], tmp_path / "ana")
    ben = CliNode(lab, lab.nodes[1], tmp_path / "ben")
    for person, weights in ((ana, "benevolence=0.9"), (ben, "tradition=0.8")):
        person.init()
        done = person("profile", "set", weights)
        assert done.returncode == 0, done.stderr
    return ana, ben


def offer_key(person: CliNode, attempts: int = 3) -> str:
    """What ``edge-dan peers`` lists for the stranger open to pairing nearby.

    A person who sees nobody looks again: on a loaded machine one 4-second look can end before
    the first answer arrives (a CI run saw an empty list once, with the offer already up)."""
    for _ in range(attempts):
        listed = person("peers", "--json", "--no-ble", "--time", "4", "--interface", "eth0")
        assert listed.returncode == 0, listed.stderr
        offers = [p for p in json.loads(listed.stdout)["nearby"] if p["open_to_pairing"]]
        if offers:
            break
    assert len(offers) == 1, listed.stdout
    return str(offers[0]["key"])


def stored(person: CliNode) -> tuple[list[str], list[bytes]]:
    """The partners' names and the accords' bytes in ``person``'s store."""
    with Owner.open(person.home, PASSPHRASE) as owner:
        names = [peer.name for peer in owner.peers.list()]
        accords = [s.accord.to_bytes() for s in owner.accords.list(binding_only=True)]
    return names, accords


def test_two_run_agents_pair_by_numeric_comparison_and_negotiate_through_the_cli(
    lab: Lab, tmp_path: Path
) -> None:
    ana, ben = two_people(lab, tmp_path)
    ana.start("--json")
    ben.start("--json")
    try:
        # Ana opens pairing; Ben finds her offer with 'peers' and pairs with it. Both confirm
        # (--yes: the test is both owners) and each sees the six digits.
        opening, _ = ana.open_pairing("90", "--yes", "--name", "Ben", "--json")
        joined = ben("pair", "--with", offer_key(ben), "--yes", "--name", "Ana", "--json")
        if joined.returncode != 0 and "matching that" in joined.stderr:  # its advert rotated
            joined = ben("pair", "--with", offer_key(ben), "--yes", "--name", "Ana", "--json")
        opened_out, opened_err = opening.communicate(timeout=120)
        assert joined.returncode == 0, joined.stderr
        assert opening.returncode == 0, opened_err
        ana_saw, ben_saw = json.loads(opened_out)["paired"], json.loads(joined.stdout)["paired"]
        assert ana_saw["code"] == ben_saw["code"] and len(ana_saw["code"]) == 6
        assert (
            f"Code {ana_saw['code']}" in opened_err and f"Code {ben_saw['code']}" in joined.stderr
        )
        assert ana_saw["name"] == "Ben" and ben_saw["name"] == "Ana"
        assert "Through the agent running on this home." in joined.stderr

        # Ana's agent mediates; Ben's answers by his own values (policy auto).
        argv = ["negotiate", "Saturday", "--with", "Ben", "--deadline", "30", "--json"]
        for option in OPTIONS:
            argv += ["--option", option]
        done = ana(*argv)
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert summary["agreed"] is True and summary["partners"] == ["Ben"]
        assert summary["outcome"]["option"] in OPTIONS
        assert summary["verdict"] in ("your best option", "good for you", "acceptable to you")
        assert summary["reasons"][0]["why"]  # the value model's reasons, in words
        # The same result in plain words, for people.
        text = ana(*[a for a in argv if a != "--json"])
        assert text.returncode == 0, text.stderr
        assert "Agreed on 'Saturday' with Ben" in text.stdout and "Why Little Dan" in text.stdout
    finally:
        ana_code, ana_log, ana_err = ana.stop()
        ben_code, ben_log, ben_err = ben.stop()
    assert (ana_code, ben_code) == (0, 0), ana_err + ben_err
    for log in (ana_log, ben_log):
        events = [json.loads(line)["event"] for line in log.splitlines()]
        assert "pairing-completed" in events and "negotiation-agreed" in events
        assert not any(option in log for option in OPTIONS)  # option texts stay out of logs

    ana_names, ana_accords = stored(ana)
    ben_names, ben_accords = stored(ben)
    assert (ana_names, ben_names) == (["Ben"], ["Ana"])
    assert len(ana_accords) == 2 and sorted(ana_accords) == sorted(ben_accords)
    accord_ids = {Accord.from_bytes(data).id.hex() for data in ana_accords}
    assert summary["accord_id"] in accord_ids

    # A third machine with neither store checks the exported accord offline.
    third = tmp_path / "third"
    third.mkdir()
    exported = third / "accord.bin"
    exported.write_bytes(
        next(a for a in ana_accords if Accord.from_bytes(a).id.hex() == summary["accord_id"])
    )
    check = (
        "import sys; from edge_dan import Accord; "
        "a = Accord.from_bytes(open(sys.argv[1], 'rb').read()); a.verify(); print(a.id.hex())"
    )
    verified = subprocess.run(
        [sys.executable, "-c", check, str(exported)],
        capture_output=True,
        text=True,
        cwd=third,
        env={**cli_env(), "EDGE_DAN_HOME": str(third / "nohome")},
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip() == summary["accord_id"]
    tampered = bytearray(exported.read_bytes())
    tampered[-1] ^= 1
    exported.write_bytes(bytes(tampered))
    refused = subprocess.run(
        [sys.executable, "-c", check, str(exported)],
        capture_output=True,
        text=True,
        env=cli_env(),
        check=False,
    )
    assert refused.returncode != 0


def test_declining_on_the_terminal_leaves_both_stores_unchanged(lab: Lab, tmp_path: Path) -> None:
    ana, ben = two_people(lab, tmp_path)
    ana.start()
    ben.start()
    try:
        opening, _ = ana.open_pairing("90", "--yes", "--name", "Ben")
        # Ben runs 'pair --with' on a real terminal (a pty), sees the code, and says no.
        argv = ["ip", "netns", "exec", ben.node.netns, *edge_dan(ben.home, "pair", "--with")]
        child = pexpect.spawn(argv[0], argv[1:], env=cli_env(), encoding="utf-8", timeout=60)
        child.expect(r"Code: (\d{6})")
        child.expect_exact("[y/N]")
        child.sendline("n")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 1
        assert "you declined; nothing was kept" in str(child.before)
        _, err = opening.communicate(timeout=120)
        assert opening.returncode == 1, err
        assert "did not complete" in err and "Traceback" not in err
    finally:
        for person in (ana, ben):
            code, _, err = person.stop()
            assert code == 0, err
    assert stored(ana) == ([], []) and stored(ben) == ([], [])


def _terminal(person: CliNode, *args: str) -> pexpect.spawn:
    """``edge-dan ARGS`` for ``person`` on a real terminal (a pty) inside their node."""
    argv = ["ip", "netns", "exec", person.node.netns, *edge_dan(person.home, *args)]
    return pexpect.spawn(argv[0], argv[1:], env=cli_env(), encoding="utf-8", timeout=60)


def test_both_owners_compare_the_same_digits_on_their_terminals_and_name_each_other(
    lab: Lab, tmp_path: Path
) -> None:
    ana, ben = two_people(lab, tmp_path)
    ana.start()
    ben.start()
    opening = joining = None
    try:
        opening = _terminal(ana, "pair", "--open", "90")
        opening.expect_exact("Open to pairing")
        joining = _terminal(ben, "pair", "--with")
        codes = []
        for child in (joining, opening):
            child.expect(r"Code: (\d{6})")
            codes.append(child.match.group(1))
        assert codes[0] == codes[1]  # the numeric comparison: the same six digits on both
        for child, name in ((joining, "Ana"), (opening, "Ben")):
            child.expect_exact("[y/N]")
            child.sendline("y")
            child.expect_exact("Name to keep them under:")
            child.sendline(name)
        for child, name in ((joining, "Ana"), (opening, "Ben")):
            child.expect_exact(f"Paired with {name}")
            child.expect(pexpect.EOF)
            child.close()
            assert child.exitstatus == 0
    finally:
        for child in (opening, joining):
            if child is not None:
                child.close(force=True)
        for person in (ana, ben):
            code, _, err = person.stop()
            assert code == 0, err
    assert stored(ana)[0] == ["Ben"] and stored(ben)[0] == ["Ana"]
