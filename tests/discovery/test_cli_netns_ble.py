"""``edge-dan run --hci``: two people whose agents reach each other only over Bluetooth LE.

Two ``edge-dan run`` processes in two network namespaces whose cables are pulled (their LANs
cannot see each other; each still runs its LAN network), each driving its own controller on
bumble's software radio (``SimRadio``) as it would a USB dongle. Through the command line alone
they pair by numeric comparison and negotiate; both stores then hold the same verified accord,
and the logs show every sighting, the pairing and the partner were over BLE.

Also: Bluetooth asked for and not there (no controller at ``--hci``, no BlueZ for ``--ble``)
stops ``run`` with one line and exit 1, losing nothing; a controller pulled while the agent runs
fails the requests that need it in one line, and SIGTERM still stops the agent cleanly.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_agent import CliNode, cli_env
from netns import Lab
from sim_radio import SimRadio
from test_cli_netns import stored, two_people

from edge_dan.negotiation import Accord

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def controllers(*names: str) -> Iterator[SimRadio]:
    """A controller per name on one software radio, at short paths (a socket path has 107
    bytes, too few for pytest's temporary folders)."""
    with (
        tempfile.TemporaryDirectory(prefix="radio") as folder,
        SimRadio([Path(folder, name) for name in names]) as radio,
    ):
        yield radio


@pytest.fixture
def radio() -> Iterator[SimRadio]:
    with controllers("ana", "ben") as radio:
        yield radio


def events(log: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.splitlines()]


def test_a_partner_reached_only_over_ble_pairs_and_negotiates_through_the_cli(
    lab: Lab, radio: SimRadio, tmp_path: Path
) -> None:
    ana, ben = two_people(lab, tmp_path)
    for node in lab.nodes:
        lab.cut(node)  # no LAN between them: only the radio
    ana.start("--json", "--no-model", "--hci", radio.transport(0))
    ben.start("--json", "--no-model", "--hci", radio.transport(1))
    try:
        opening, _ = ana.open_pairing("90", "--yes", "--name", "Ben", "--json")
        joined = ben("pair", "--with", "--wait", "60", "--yes", "--name", "Ana", "--json")
        opened_out, opened_err = opening.communicate(timeout=120)
        assert joined.returncode == 0, joined.stderr
        assert opening.returncode == 0, opened_err
        ana_saw, ben_saw = json.loads(opened_out)["paired"], json.loads(joined.stdout)["paired"]
        assert ana_saw["code"] == ben_saw["code"] and len(ana_saw["code"]) == 6

        argv = ["negotiate", "Saturday", "--with", "Ben", "--deadline", "60", "--json"]
        argv += ["--issue", "dinner=home,restaurant", "--issue", "start=18h,20h"]
        done = ana(*argv)
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert summary["agreed"] is True and summary["partners"] == ["Ben"]
    finally:
        ana_code, ana_log, ana_err = ana.stop()
        ben_code, ben_log, ben_err = ben.stop()
    assert (ana_code, ben_code) == (0, 0), ana_err + ben_err

    ana_events, ben_events = events(ana_log), events(ben_log)
    for logged in (ana_events, ben_events):
        started = next(e for e in logged if e["event"] == "started")
        assert started["networks"] == "lan,ble"
        names = [e["event"] for e in logged]
        assert "pairing-completed" in names
        vias = {e["via"] for e in logged if "via" in e}
        assert vias == {"ble"}  # seen, paired and reached over BLE alone
    assert any(e["event"] == "partner-seen" for e in ana_events + ben_events)
    assert any(e["event"] == "pairing-started" for e in ben_events)
    assert "negotiation-agreed" in [e["event"] for e in ben_events]

    ana_names, ana_accords = stored(ana)
    ben_names, ben_accords = stored(ben)
    assert (ana_names, ben_names) == (["Ben"], ["Ana"])
    assert len(ana_accords) == 1 and ana_accords == ben_accords
    accord = Accord.from_bytes(ana_accords[0])
    accord.verify()
    assert accord.id.hex() == summary["accord_id"]


def one_line_failure(done: subprocess.CompletedProcess[str]) -> str:
    """The error line of a run that could not start: exit 1, one line, no traceback."""
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("edge-dan: error: Bluetooth LE: "), lines
    return lines[0]


@pytest.mark.parametrize("lab", [1], indirect=True)
def test_run_stops_with_one_line_when_the_bluetooth_asked_for_is_not_there(
    lab: Lab, tmp_path: Path
) -> None:
    person = CliNode(lab, lab.nodes[0], tmp_path / "home")
    person.init()
    identity = person("whoami", "--json").stdout

    # No controller at the transport given.
    missing = tmp_path / "nothing.sock"
    line = one_line_failure(person("run", "--no-model", "--hci", f"unix:{missing}"))
    assert f"cannot open the Bluetooth controller at unix:{missing}" in line
    assert "No such file or directory" in line and "run without --hci" in line
    line = one_line_failure(person("run", "--no-model", "--hci", "nonsense"))
    assert "unknown transport scheme" in line

    # The OS's stack, where it cannot run (here: no system D-Bus, so no BlueZ): the error says
    # so and names the alternative. (Without bleak or dbus-fast installed, it names the package.)
    no_bus = cli_env(DBUS_SYSTEM_BUS_ADDRESS=f"unix:path={tmp_path / 'no-bus'}")
    line = one_line_failure(person("run", "--no-model", "--ble", env=no_bus))
    assert "--hci TRANSPORT" in line and "run without --ble" in line

    # Nothing was lost or left behind: no socket claims the home, the store is as it was.
    assert not (person.home / "control.sock").exists()
    assert person("whoami", "--json").stdout == identity
    assert person("check").returncode == 0


def status(home: Path) -> dict[str, object]:
    """The running agent's status, through its control socket (answered once it started)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(60)
        conn.connect(str(home / "control.sock"))
        conn.sendall(b'{"op": "status"}\n')
        answer = json.loads(conn.makefile().readline())
    assert "result" in answer, answer
    result: dict[str, object] = answer["result"]
    return result


@pytest.mark.parametrize("lab", [1], indirect=True)
def test_a_controller_pulled_while_running_fails_requests_clearly_and_stops_cleanly(
    lab: Lab, tmp_path: Path
) -> None:
    person = CliNode(lab, lab.nodes[0], tmp_path / "home")
    person.init()
    with controllers("dongle") as radio:
        person.start("--json", "--no-model", "--hci", radio.transport(0))
        try:
            assert status(person.home)["networks"] == ["lan", "ble"]
            radio.unplug()
            # The agent still runs (on the LAN); advertising an offer over BLE cannot.
            opening = person("pair", "--open", "5", "--yes")
            assert opening.returncode == 1, opening.stderr
            assert "error: the Bluetooth controller did not answer" in opening.stderr
            assert "Traceback" not in opening.stderr and "internal" not in opening.stderr
            assert status(person.home)["networks"] == ["lan", "ble"]
        finally:
            code, log, err = person.stop()  # SIGTERM
    assert code == 0, err
    assert [json.loads(line)["event"] for line in log.splitlines()][-1] == "stopped"
