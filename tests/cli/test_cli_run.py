"""``edge-dan run``: a real agent process in a network namespace (its mDNS stays in the lab), its
private control socket, its log, and a clean stop on SIGTERM and SIGINT that loses nothing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from cli_agent import PASSPHRASE, CliNode, answers, cli_env, edge_dan
from netns import Lab

from edge_dan.owner import Owner

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("lab", [1], indirect=True)]
# Profile weights no log line may show (odd numbers, easy to grep for).
WEIGHTS = {"benevolence": "0.8137", "hedonism": "0.2719", "security": "0.6473"}


def request(path: Path, line: bytes) -> list[dict[str, object]]:
    """Send one raw line to the control socket; every line the agent answers."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(str(path))
        conn.sendall(line)
        conn.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return [json.loads(part) for part in data.splitlines()]


def status(home: Path) -> dict[str, object]:
    (answer,) = request(home / "control.sock", b'{"op": "status"}\n')
    assert "result" in answer, answer
    result = answer["result"]
    assert isinstance(result, dict)
    return result


@pytest.fixture
def device(lab: Lab, tmp_path: Path) -> CliNode:
    node = CliNode(lab, lab.nodes[0], tmp_path / "home")
    node.init()
    for value, weight in WEIGHTS.items():
        done = node("profile", "set", f"{value}={weight}")
        assert done.returncode == 0, done.stderr
    return node


def test_run_serves_a_private_socket_logs_no_secret_and_stops_cleanly_on_sigterm(
    device: CliNode, tmp_path: Path
) -> None:
    secret_file = tmp_path / "credential"
    secret_file.write_text(PASSPHRASE + "\n")
    secret_file.chmod(0o600)
    env_without = {k: v for k, v in cli_env().items() if k != "EDGE_DAN_PASSPHRASE"}
    argv = ["run", "--json", "--interface", "eth0", "--passphrase-file", str(secret_file)]
    device.agent = device.lab.popen(
        device.node,
        edge_dan(device.home, *argv),
        env=env_without,
    )
    sock = device.home / "control.sock"
    try:
        _wait_for_socket(device)
        mode = os.stat(sock).st_mode & 0o777
        assert mode == 0o600, oct(mode)
        answer = status(device.home)
        assert answer["networks"] == ["lan"] and answer["pairing_open"] is False
        # A second agent on the same home is refused at once, with a clear one-line error.
        second = device("run", "--interface", "eth0", timeout=60)
        assert second.returncode == 1
        assert "already running" in second.stderr and "Traceback" not in second.stderr
        assert status(device.home)["fingerprint"] == answer["fingerprint"]  # the first still runs
    finally:
        code, log, err = device.stop()
    assert code == 0, err
    assert "Traceback" not in err + log
    events = [json.loads(line)["event"] for line in log.splitlines()]
    assert events[0] == "started" and events[-2:] == ["stopping", "stopped"]
    for secret in (PASSPHRASE, *WEIGHTS.values(), "correct horse"):
        assert secret not in log + err
    assert not sock.exists()  # removed on the way out
    with Owner.open(device.home, PASSPHRASE) as owner:  # the store opens and holds its data
        weights = owner.profile.current().weights
        assert abs(weights["benevolence"] - 0.8137) < 1e-9


def _wait_for_socket(device: CliNode) -> None:
    assert device.agent is not None
    deadline = time.monotonic() + 60
    while not answers(device.home / "control.sock"):
        assert device.agent.poll() is None, device.agent.communicate()
        assert time.monotonic() < deadline, "no control socket"
        time.sleep(0.1)


def test_sigint_stops_it_too_and_a_stale_socket_is_replaced(device: CliNode) -> None:
    # A socket file left by an agent that was killed: nobody listens on it any more.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(device.home / "control.sock"))
    stale.close()
    agent = device.start()
    try:
        assert status(device.home)["networks"] == ["lan"]
    finally:
        os.killpg(agent.pid, signal.SIGINT)
        out, err = agent.communicate(timeout=30)
    assert agent.returncode == 0, err
    assert "Traceback" not in err and "stopped" in out
    assert not (device.home / "control.sock").exists()


def test_hostile_control_requests_get_an_error_line_and_the_agent_goes_on(device: CliNode) -> None:
    device.start()
    sock = device.home / "control.sock"
    try:
        hostile = [
            b"not json\n",
            b"[1, 2, 3]\n",
            b'{"op": "format_disk"}\n',
            b'{"op": "pair_open", "args": {"seconds": NaN}}\n',
            b'{"op": "pair_open", "args": {"seconds": -1}}\n',
            b'{"op": "pair_open", "args": {"seconds": 5, "extra": 1}}\n',
            b'{"op": "negotiate", "args": {"topic": "x", "partners": "bob"}}\n',
            b"\xff\xfe\n",
            b"[" * 100_000 + b"\n",  # past the size cap
            b'{"op": "status", "args": ' + b"[" * 5000 + b"]" * 5000 + b"}\n",
        ]
        for line in hostile:
            answers = request(sock, line)
            assert len(answers) == 1 and "error" in answers[0], (line[:40], answers)
            error = answers[0]["error"]
            assert isinstance(error, dict) and error["exit_code"] == 2, error
        # A client that connects and says nothing, or half a line, holds nothing up.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as idle:
            idle.connect(str(sock))
            idle.sendall(b'{"op": "sta')
            assert status(device.home)["pairing_open"] is False
    finally:
        code, log, err = device.stop()
    assert code == 0 and "Traceback" not in err + log


def test_a_passphrase_file_others_can_read_is_refused(device: CliNode, tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.write_text(PASSPHRASE + "\n")
    loose.chmod(0o644)
    two_lines = tmp_path / "two"
    two_lines.write_text(PASSPHRASE + "\nmore\n")
    two_lines.chmod(0o600)
    for path, why in ((loose, "read by others (mode 0644)"), (two_lines, "one line")):
        done = device("run", "--passphrase-file", str(path), timeout=60)
        assert done.returncode == 1, done.stderr
        assert why in done.stderr and PASSPHRASE not in done.stderr
        assert "Traceback" not in done.stderr
    # Something at the socket's place that is not a socket is left alone, and said.
    (device.home / "control.sock").write_text("mine")
    done = device("run", timeout=60)
    assert done.returncode != 0 and "not a socket" in done.stderr
    assert (device.home / "control.sock").read_text() == "mine"


def test_pair_and_negotiate_check_their_arguments_before_anything_else(device: CliNode) -> None:
    for args, why in (
        (["pair"], "--open"),
        (["pair", "--open", "5", "--with", "x"], "--open"),
        (["pair", "--open", "5"], "--yes"),  # no terminal here
        (["pair", "--open", "0", "--yes"], "above 0"),
        (["negotiate", "Saturday", "--with", "bob", "--issue", "when"], "NAME=A,B"),
    ):
        done = device(*args, timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert why in done.stderr and "Traceback" not in done.stderr
    result = subprocess.run(
        edge_dan(device.home, "negotiate", "--help"), capture_output=True, text=True, check=True
    )
    assert "--protocol" in result.stdout


def test_a_home_too_deep_for_a_unix_socket_is_refused_with_the_way_out(
    lab: Lab, tmp_path: Path
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60) / "home"  # control.sock's path > 107 bytes
    node = CliNode(lab, lab.nodes[0], deep)
    node.init()
    done = node("run", "--no-model", timeout=60)
    assert done.returncode == 1, done.stderr
    assert "give a shorter --home" in done.stderr and "Traceback" not in done.stderr
    assert not (deep / "control.sock").exists()
