"""The app-facing examples run for real, as a developer or two people would run them.

- ``examples/embed_in_app/app.py`` (an asyncio app on the public API) in one network namespace,
  and a partner's ``edge-dan run`` in another: the app's owner confirms the pairing code on the
  app's stdin, the partner negotiates through the CLI, the app's approval policy is asked before
  it signs (and when it says no, nothing is signed anywhere); restarted on the same store, the
  app starts a negotiation itself. SIGTERM, and SIGINT, stop it with exit 0 and nothing on
  stderr, and both stores hold the same verified accords.
- ``examples/two_machines/two_namespaces.sh``: the README's two-host commands in two namespaces.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from cli_agent import PASSPHRASE, CliNode, cli_env
from netns import Lab, Node, Recorder, skip_reason

from edge_dan.negotiation import Accord
from edge_dan.owner import Owner

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "examples" / "embed_in_app" / "app.py"
TWO_MACHINES = REPO / "examples" / "two_machines" / "two_namespaces.sh"
# Ben (the CLI agent) loves thrills; Ana (the app) keeps the neutral profile of a new store.
# By the value model, both like paintballing and a rock concert best of their pairs; of the
# Friday three, the casino is the one both may accept, but Ana's rating of it is under the
# app's approval rule (0.44 < 0.5), so the app refuses to sign.
BEN_VALUES = ("stimulation=0.9", "hedonism=0.9", "benevolence=0.1", "universalism=0.1")
PAINTBALL = "Go paintballing"
CLUBBING = "Go clubbing until dawn"
CONCERT = "Go to a rock concert"
FRIDAY = ("Volunteer together at the community food bank", "Go to a casino", CLUBBING)

pytestmark = pytest.mark.slow


class RunningApp:
    """The example app in a lab node: its stdout lines as they come, its stdin to answer on."""

    def __init__(self, lab: Lab, node: Node, home: Path, *args: str) -> None:
        argv = [sys.executable, str(APP), "--home", str(home), "--interface", node.interface]
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", node.netns, *argv, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
            start_new_session=True,
        )
        self.lines: Recorder[str] = Recorder()
        self.errors: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.lines)),
            threading.Thread(target=self._read, args=(self.process.stderr, self.errors.append)),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: object, sink: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            sink(line.rstrip("\n"))  # type: ignore[operator]

    def wait_for(self, start: str, having: str = "", timeout: float = 90.0) -> str:
        """The first line starting with ``start`` and holding ``having``, waited for."""

        def wanted(line: str) -> bool:
            return line.startswith(start) and having in line

        try:
            return self.lines.wait_for(wanted, timeout)[1]
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\nstderr: {self.errors}") from None

    def answer(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def stop(self, number: signal.Signals = signal.SIGTERM) -> int:
        """SIGTERM (a service manager) or SIGINT (Ctrl-C); the exit code."""
        # Not stop_process: its communicate() would race the readers for the last lines.
        os.killpg(self.process.pid, number)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        for reader in self._readers:
            reader.join(timeout=10)
        return self.process.returncode


def accords_in(home: Path) -> tuple[list[str], list[bytes]]:
    with Owner.open(home, PASSPHRASE) as owner:
        names = [peer.name for peer in owner.peers.list()]
        return names, sorted(s.accord.to_bytes() for s in owner.accords.list(binding_only=True))


def field(line: str, name: str) -> str:
    found = re.search(rf"\b{name}=(\S+)", line)
    assert found is not None, line
    return found.group(1)


def test_the_embedded_app_pairs_negotiates_both_ways_asks_its_approval_and_stops_cleanly(
    lab: Lab, tmp_path: Path
) -> None:
    ben = CliNode(lab, lab.nodes[1], tmp_path / "ben")
    ben.init()
    assert ben("profile", "set", *BEN_VALUES).returncode == 0
    ben.start("--json")
    ana_home = tmp_path / "ana"  # the app creates this store on its first run
    try:
        app = RunningApp(lab, lab.nodes[0], ana_home, "--open-pairing", "90")
        try:
            app.wait_for("pairing-open")
            # Ben pairs from the command line; the app shows its owner the six digits and the
            # owner (the test) answers on the app's stdin with the name to keep Ben under.
            pairing = ben.popen("pair", "--with", "--yes", "--name", "Ana", "--json")
            code = field(app.wait_for("pairing-code"), "code")
            app.answer("Ben")
            paired_out, paired_err = pairing.communicate(timeout=120)
            assert pairing.returncode == 0, paired_err
            assert f'"code": "{code}"' in paired_out  # both owners saw the same digits

            argv = ["negotiate", "Saturday", "--with", "Ana", "--deadline", "30", "--json"]
            done = ben(*argv, "--option", PAINTBALL, "--option", CLUBBING)
            assert done.returncode == 0, done.stderr
            assert '"agreed": true' in done.stdout
            approval = app.wait_for("approval")
            assert field(approval, "sign") == "True" and PAINTBALL in approval
            saturday = field(app.wait_for("accord-signed"), "id")
            assert saturday in done.stdout

            # The app's approval rule says no: Little Dan does not sign, so nobody is bound.
            argv[1] = "Friday"
            refused = ben(*argv, *(f"--option={option}" for option in FRIDAY))
            assert refused.returncode == 1, refused.stderr
            assert '"agreed": false' in refused.stdout
            approval = app.wait_for("approval", "sign=False")
            assert "casino" in approval and float(field(approval, "rating")) < 0.5
            app.wait_for("no-agreement")
        finally:
            first_exit = app.stop()
        assert first_exit == 0, app.errors
        assert app.lines.items()[-2:] == ["stopping", "stopped"], (app.lines.items(), app.errors)
        assert app.errors == []  # nothing on stderr: no traceback, no warning

        # Restarted on the same store: Ben is still a partner, and the app asks him this time.
        again = RunningApp(
            lab,
            lab.nodes[0],
            ana_home,
            *("--negotiate", "Sunday", "--with", "Ben"),
            *("--option", CONCERT, "--option", CLUBBING),
        )
        try:
            again.wait_for("partner-nearby name=Ben")
            approval = again.wait_for("approval")
            assert field(approval, "sign") == "True" and CONCERT in approval
            sunday = field(again.wait_for("accord-signed"), "id")
        finally:
            second_exit = again.stop(signal.SIGINT)  # Ctrl-C, this time
        assert second_exit == 0, again.errors
        assert again.lines.items()[-2:] == ["stopping", "stopped"]
        assert again.errors == []
    finally:
        ben_exit, _, ben_err = ben.stop()
    assert ben_exit == 0, ben_err

    ana_names, ana_accords = accords_in(ana_home)
    ben_names, ben_accords = accords_in(ben.home)
    assert (ana_names, ben_names) == (["Ben"], ["Ana"])
    assert ana_accords == ben_accords and len(ana_accords) == 2
    accords = [Accord.from_bytes(data) for data in ana_accords]
    for accord in accords:
        accord.verify()
    assert {accord.id.hex() for accord in accords} == {saturday, sunday}


def _namespaces() -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    return {line.split(" ")[0] for line in listed.stdout.splitlines() if line}


@pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))
def test_the_two_machines_script_pairs_and_negotiates_across_two_namespaces() -> None:
    # A short temporary folder: the homes' control sockets must fit AF_UNIX's path limit.
    with tempfile.TemporaryDirectory(prefix="edan-") as folder:
        _run_two_machines(Path(folder))


def _run_two_machines(tmp_path: Path) -> None:
    before = _namespaces()
    # The script calls `edge-dan` as the README does: this interpreter's one comes first.
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_DAN_")}
    env.update(PATH=f"{bin_dir}:{env.get('PATH', '')}", TMPDIR=str(tmp_path))
    assert shutil.which("edge-dan", path=env["PATH"]) is not None
    run = subprocess.run(
        ["bash", str(TWO_MACHINES)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    codes = re.findall(r"Code (\d{6})", run.stderr + out)
    assert len(codes) == 2 and codes[0] == codes[1], out  # both hosts showed the same digits
    assert "Agreed on 'Saturday'" in out
    accord_id = re.search(r"accord ([0-9a-f]{64})", out)
    assert accord_id is not None, out
    assert f"both stores hold accord {accord_id.group(1)}" in out
    assert "verified on a third machine" in out
    made = re.search(r"network namespaces (\S+) and (\S+),", out)
    assert made is not None, out
    assert before & set(made.groups()) == set()  # new ones, under names of their own
    assert _namespaces() & set(made.groups()) == set()  # and gone again
    assert list(tmp_path.iterdir()) == []  # and so are its homes
