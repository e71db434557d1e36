"""``edge-dan pair --qr``/``--scan-text`` and ``--code``/``--code-entry`` between real processes in
network namespaces, as people would run them: one device shows a QR code (its text) or an 8-digit
code, the other pastes or types it and finds the showing device among the strangers nearby open
to pairing (mDNS). Both stores then hold each other with the method, and ``partners`` says how.
A wrong code, a used or expired QR code and a damaged text each get one clear line, the right exit
code, and leave the stores unchanged."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pexpect
import pytest
from cli_agent import CliNode, cli_env, edge_dan
from netns import Lab
from test_cli_netns import two_people

pytestmark = pytest.mark.slow
QR_TEXT = re.compile(r"^EDGEDAN:1:[A-Z2-7]+$")
CODE_LINE = re.compile(r"Type this code on the other device: (\d{4}) (\d{4})")


def showing(
    person: CliNode, *args: str, timeout: float = 60.0
) -> tuple[subprocess.Popen[str], str, str]:
    """``edge-dan pair ARGS`` in the background until it shows the QR text or the code: the
    process, that text or the 8 digits, and what it printed so far."""
    shown = person.popen("pair", *args)
    assert shown.stderr is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while True:
        line = shown.stderr.readline()
        if not line or time.monotonic() > deadline:
            shown.kill()
            raise AssertionError(f"pair {args} showed nothing: {seen}{shown.communicate()}")
        seen += line
        if QR_TEXT.match(line.strip()):
            return shown, line.strip(), seen
        if found := CODE_LINE.search(line):
            return shown, found.group(1) + found.group(2), seen + shown.stderr.readline()


def partners(person: CliNode) -> list[tuple[str, str]]:
    listed = person("partners", "--json")
    assert listed.returncode == 0, listed.stderr
    return [(row["name"], row["method"]) for row in json.loads(listed.stdout)["partners"]]


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The error the command ended with: one line, no traceback."""
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("edge-dan: ")]
    assert len(errors) == 1, done.stderr
    return errors[0]


@pytest.mark.parametrize("lab", [3], indirect=True)
def test_qr_pairing_through_running_agents_then_the_used_code_is_refused(
    lab: Lab, tmp_path: Path
) -> None:
    ana, ben = two_people(lab, tmp_path)
    carl = CliNode(lab, lab.nodes[2], tmp_path / "carl")
    carl.init()
    ana.start()
    ben.start()
    try:
        shown, text, _ = showing(ana, "--qr", "90", "--yes", "--name", "Ben", "--json")
        # Ben's device has no camera: he pastes the text, on stdin (out of the process list).
        argv = edge_dan(ben.home, "pair", "--scan-text", "-", "--yes", "--name", "Ana", "--json")
        joined = subprocess.run(
            ["ip", "netns", "exec", ben.node.netns, *argv],
            input=text + "\n",
            capture_output=True,
            text=True,
            env=cli_env(),
            timeout=120,
            check=False,
        )
        out, err = shown.communicate(timeout=60)
        assert joined.returncode == 0, joined.stderr
        assert shown.returncode == 0, err
        assert json.loads(out)["paired"]["method"] == "qr"
        assert json.loads(joined.stdout)["paired"] == {
            "name": "Ana",
            "fingerprint": json.loads(ana("whoami", "--json").stdout)["fingerprint"],
            "method": "qr",
        }
        assert partners(ana) == [("Ben", "qr")] and partners(ben) == [("Ana", "qr")]

        # The same text once more, from Carl, while Ana is open to pairing: refused, one line.
        reopened, _ = ana.open_pairing("60", "--yes", "--name", "Carl")
        again = carl("pair", "--scan-text", text, "--yes", "--name", "Ana", "--wait", "5")
        reopened.kill()
        reopened.communicate()
        assert again.returncode == 1
        assert "no device nearby took this code" in one_line_error(again)
    finally:
        for person in (ana, ben):
            code, _, err = person.stop()
            assert code == 0, err
    assert partners(carl) == [] and partners(ana) == [("Ben", "qr")]


def test_code_pairing_with_a_wrong_code_first_and_without_a_running_agent(
    lab: Lab, tmp_path: Path
) -> None:
    ana, ben = two_people(lab, tmp_path)
    ana.start()  # Ana's headless device runs its agent; Ben's command starts one for itself
    try:
        shown, code, said = showing(ana, "--code", "90", "--yes", "--name", "Ben", "--json")
        assert "5 attempts" in said
        wrong = f"{(int(code) + 1) % 10**8:08d}"
        refused = ben("pair", "--code-entry", wrong, "--yes", "--name", "Ana", "--wait", "20")
        assert refused.returncode == 1, refused.stderr
        assert "wrong code" in one_line_error(refused)
        assert partners(ana) == [] and partners(ben) == []
        typed = f"{code[:4]}-{code[4:]}"
        joined = ben("pair", "--code-entry", typed, "--yes", "--name", "Ana", "--json")
        out, err = shown.communicate(timeout=60)
        assert joined.returncode == 0, joined.stderr
        assert shown.returncode == 0, err
        assert json.loads(joined.stdout)["paired"]["method"] == "code"
        assert json.loads(out)["paired"]["name"] == "Ben"
        assert "starting one for this command" in joined.stderr
    finally:
        code_, log, err = ana.stop()
        assert code_ == 0, err
    assert code not in log  # the code is shown to the owner, never written to the log
    assert partners(ana) == [("Ben", "code")] and partners(ben) == [("Ana", "code")]


def test_expired_qr_and_damaged_text_or_code_are_refused(lab: Lab, tmp_path: Path) -> None:
    ana, ben = two_people(lab, tmp_path)
    ana.start()
    try:
        shown, text, said = showing(ana, "--qr", "1", "--yes", "--name", "Ben")
        assert "█" in said  # the QR code itself, above its text
        _, err = shown.communicate(timeout=60)
        assert shown.returncode == 1
        assert "expired" in err and "Traceback" not in err
        late = ben("pair", "--scan-text", text, "--yes", "--name", "Ana", "--wait", "5")
        assert late.returncode == 1
        assert "no device nearby" in one_line_error(late)
    finally:
        code, _, err = ana.stop()
        assert code == 0, err
    # Bad input is refused before the store is opened or the network touched: exit 2.
    for args in (
        ("--scan-text", text[:-4]),
        ("--scan-text", "EDGEDAN:9:" + text.rsplit(":", 1)[1]),
        ("--scan-text", "hello"),
        ("--code-entry", "1234"),
        ("--code-entry", "1234567a"),
    ):
        done = ben("pair", *args, "--yes")
        assert done.returncode == 2, (args, done.stderr)
        assert "pairing code" in one_line_error(done) or "8 digits" in done.stderr
    assert partners(ana) == [] and partners(ben) == []


def test_on_a_terminal_the_owner_names_the_new_partner_or_declines(
    lab: Lab, tmp_path: Path
) -> None:
    ana, ben = two_people(lab, tmp_path)
    ana.start()

    def type_code(code: str, name: str) -> pexpect.spawn:
        """Ben types the code on a terminal (read from stdin: '-') and answers the name."""
        argv = ["ip", "netns", "exec", ben.node.netns]
        argv += edge_dan(ben.home, "pair", "--code-entry", "-")
        child = pexpect.spawn(argv[0], argv[1:], env=cli_env(), encoding="utf-8", timeout=90)
        child.expect_exact("Paste the code: ")
        child.sendline(code)
        child.expect(r"The device [0-9a-z-]+ paired by typed code\.")
        child.expect_exact("Name to keep them under (empty declines): ")
        child.sendline(name)
        child.expect(pexpect.EOF)
        child.close()
        return child

    try:
        shown, code, _ = showing(ana, "--code", "90", "--yes", "--name", "Ben")
        declined = type_code(code, "")
        assert declined.exitstatus == 1
        assert "you declined; nothing was kept" in str(declined.before)
        _, err = shown.communicate(timeout=60)
        assert shown.returncode == 1 and "the other owner declined" in err
        assert partners(ana) == [] and partners(ben) == []

        shown, code, _ = showing(ana, "--code", "90", "--yes", "--name", "Ben")
        named = type_code(code, "Ana at home")
        assert named.exitstatus == 0, named.before
        assert "Paired with Ana at home" in str(named.before)
        _, err = shown.communicate(timeout=60)
        assert shown.returncode == 0, err
    finally:
        exit_code, _, err = ana.stop()
        assert exit_code == 0, err
    assert partners(ana) == [("Ben", "code")] and partners(ben) == [("Ana at home", "code")]
