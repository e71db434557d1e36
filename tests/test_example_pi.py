"""The Raspberry Pi household example (``examples/raspberry_pi_household/``).

The systemd unit is checked by ``systemd-analyze verify`` and for the hardening that matters; the
house agent it starts, and ``edge-dan run``, unlock from a credential file and stop cleanly on
SIGTERM (real processes in a network namespace); and the family's heating negotiation runs for
real (reduced to two members) against the example thermostat firmware under QEMU, whose state
is checked for the accord's set-point and id.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_agent import PASSPHRASE, CliNode, answers, cli_env, edge_dan
from firmware_helpers import build_thermostat
from netns import Lab, stop_process

from edge_dan import Accord

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "raspberry_pi_household"
UNIT = EXAMPLE / "edge-dan.service"
SETPOINT = "setpoint_c_x10"


def unit_settings() -> list[tuple[str, str, str]]:
    """(section, key, value) for every setting of the unit, in order (keys may repeat)."""
    section = ""
    settings = []
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.append((section, key, value))
    return settings


def service(key: str) -> list[str]:
    return [value for section, k, value in unit_settings() if section == "Service" and k == key]


def test_the_unit_is_hardened_and_each_setting_says_why() -> None:
    expected = {
        "User": "edge-dan",
        "StateDirectory": "edge-dan",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
        "AmbientCapabilities": "",
        "SystemCallFilter": "@system-service",
        "DevicePolicy": "closed",
        "DeviceAllow": "/dev/ttyACM0 rw",
        "UMask": "0077",
    }
    for key, value in expected.items():
        assert service(key) == [value], key
    families = set(service("RestrictAddressFamilies")[0].split())
    assert families == {"AF_UNIX", "AF_INET", "AF_INET6", "AF_BLUETOOTH", "AF_NETLINK"}
    (memory,) = service("MemoryMax")
    assert re.fullmatch(r"\d+M", memory) and int(memory[:-1]) <= 512
    assert not service("DynamicUser")  # the owner must be able to run edge-dan as that user
    # Every setting has its own comment right above it, saying why.
    lines = UNIT.read_text().splitlines()
    for number, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            assert lines[number - 1].startswith("#"), f"no comment above {line!r}"


def test_the_passphrase_comes_from_a_credential_and_appears_nowhere_in_the_unit() -> None:
    (credential,) = service("LoadCredentialEncrypted")
    name, _, source = credential.partition(":")
    assert name == "edge-dan" and source.startswith("/etc/")
    (command,) = service("ExecStart")
    argv = command.split()
    assert argv[argv.index("--passphrase-file") + 1] == "${CREDENTIALS_DIRECTORY}/edge-dan"
    assert "house_agent.py" in command and "--device" in argv
    text = UNIT.read_text()
    assert "EDGE_DAN_PASSPHRASE" not in text and "SetCredential" not in text
    assert all("PASSPHRASE" not in value.upper() for value in service("Environment"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    # The unit names /opt/edge-dan (where the README installs it); verify checks that ExecStart's
    # program exists, so the copy checked here points at this checkout instead.
    text = UNIT.read_text()
    text = text.replace("/opt/edge-dan/.venv/bin/python", sys.executable)
    text = text.replace("/opt/edge-dan/examples", str(REPO / "examples"))
    unit = tmp_path / "edge-dan.service"
    unit.write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Unknown keys and bad values are only warnings (exit 0): any line about the unit fails.
    complaints = [line for line in done.stderr.splitlines() if "edge-dan.service" in line]
    assert done.returncode == 0 and not complaints, done.stderr
    broken = unit.with_name("broken.service")
    broken.write_text(text.replace("ProtectSystem=strict", "ProtectSystem=sometimes"))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "broken.service" in done.stderr  # the check above can fail


def credential(folder: Path) -> Path:
    """A systemd-style credentials directory holding the passphrase (mode 0400, as systemd)."""
    folder.mkdir(mode=0o700)
    path = folder / "edge-dan"
    path.write_text(PASSPHRASE + "\n")
    path.chmod(0o400)
    return path


def wait_for_line(process: subprocess.Popen[str], start: str, timeout: float = 60) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith(start):
            return line
    stop_process(process)
    raise AssertionError(f"no {start!r} line; stderr: {process.communicate()[1]}")


@pytest.mark.slow
@pytest.mark.parametrize("lab", [1], indirect=True)
def test_the_house_agent_and_edge_dan_run_unlock_from_a_credential_and_stop_on_sigterm(
    lab: Lab, tmp_path: Path
) -> None:
    house = CliNode(lab, lab.nodes[0], tmp_path / "house")
    house.init()
    secret = credential(tmp_path / "credentials")
    env = {k: v for k, v in cli_env().items() if k != "EDGE_DAN_PASSPHRASE"}
    env["CREDENTIALS_DIRECTORY"] = str(secret.parent)
    agent = [sys.executable, str(EXAMPLE / "house_agent.py"), "--home", str(house.home)]
    agent += ["--passphrase-file", str(secret), "--interface", "eth0"]
    process = lab.popen(house.node, agent, env=env)
    started = wait_for_line(process, "started ")
    assert "fingerprint=" in started
    # Its peak memory so far, against the unit's MemoryMax= (a ceiling, not a timing).
    peak = re.search(r"^VmHWM:\s+(\d+) kB", Path(f"/proc/{process.pid}/status").read_text(), re.M)
    (memory_max,) = service("MemoryMax")
    assert peak and int(peak.group(1)) * 1024 < int(memory_max[:-1]) * 1024 * 1024, peak
    out, err = stop_process(process, timeout=30)
    assert process.returncode == 0, err
    assert out.splitlines()[-2:] == ["stopping", "stopped"]
    assert PASSPHRASE not in out + err and "Traceback" not in err

    # A credential others could read is refused before anything is unlocked.
    loose = tmp_path / "loose"
    loose.write_text(PASSPHRASE + "\n")
    loose.chmod(0o644)
    loose_argv = [*agent[:4], "--passphrase-file", str(loose)]
    refused = lab.exec(house.node, loose_argv, env=env, check=False)
    assert refused.returncode == 1 and "mode 0644" in refused.stderr, refused.stderr
    assert PASSPHRASE not in refused.stderr and "Traceback" not in refused.stderr
    # A wrong passphrase, or a thermostat that is not plugged in: one line, exit 1.
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase\n")
    wrong.chmod(0o400)
    for argv, why in (
        ([*agent[:4], "--passphrase-file", str(wrong)], "wrong passphrase"),
        ([*agent, "--device", str(tmp_path / "ttyACM9")], "could not open port"),
    ):
        done = lab.exec(house.node, argv, env=env, check=False, timeout=60)
        assert done.returncode == 1 and why in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "started" not in done.stdout

    # The same credential unlocks ``edge-dan run`` (the unit for a Pi without a thermostat).
    run = edge_dan(house.home, "run", "--interface", "eth0", "--no-model")
    run += ["--passphrase-file", str(secret)]
    process = lab.popen(house.node, run, env=env)
    deadline = time.monotonic() + 60
    while not answers(house.home / "control.sock"):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "edge-dan run opened no control socket"
        time.sleep(0.1)
    out, err = stop_process(process, timeout=30)
    assert process.returncode == 0, err
    assert "stopped" in out and PASSPHRASE not in out + err


def syscall_set(name: str) -> set[str]:
    """The system calls of systemd's filter group ``name`` (``@system-service``...), expanded."""
    listing = subprocess.run(
        ["systemd-analyze", "syscall-filter", name],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()[1:]
    calls: set[str] = set()
    for entry in (line.strip() for line in listing):
        if entry.startswith("@"):
            calls |= syscall_set(entry)
        elif entry and not entry.startswith("#"):
            calls.add(entry)
    return calls


def traced(trace: Path) -> tuple[set[str], set[str]]:
    """The system calls and socket families in an ``strace -f`` log."""
    calls, families = set(), set()
    for line in trace.read_text().splitlines():
        found = re.match(r"^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]", line)
        if found:
            calls.add(found.group(1))
        family = re.search(r"\bsocket\((AF_\w+)", line)
        if family:
            families.add(family.group(1))
    return calls, families


@pytest.fixture
def thermostat_pty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example thermostat firmware booted in QEMU, its UART on a pseudo-terminal: the path."""
    firmware = build_thermostat(tmp_path_factory) / "thermostat_mps2_an386.elf"
    qemu = subprocess.Popen(
        ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none",
         "-semihosting-config", "enable=on,target=native", "-serial", "pty",
         "-kernel", str(firmware)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        assert qemu.stdout is not None
        found = re.search(r"/dev/pts/\d+", qemu.stdout.readline())
        assert found, "QEMU gave no pty"
        yield found.group(0)
    finally:
        qemu.kill()
        qemu.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("strace", "setpriv", "systemd-analyze")),
    reason="needs strace, setpriv (util-linux) and systemd-analyze",
)
@pytest.mark.parametrize("lab", [1], indirect=True)
def test_the_agents_live_within_the_units_sandbox(
    lab: Lab, thermostat_pty: str, tmp_path: Path
) -> None:
    """Without a systemd to start the unit, its sandbox as far as it can be rebuilt: the whole
    family run (the house agent with the thermostat included) with no capabilities and
    no_new_privs, every system call and socket family traced and held to the unit's filters."""
    sandbox = ["setpriv", "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all"]
    status = lab.exec(lab.nodes[0], [*sandbox, "cat", "/proc/self/status"]).stdout
    assert re.search(r"^CapEff:\s+0+$", status, re.M) and re.search(
        r"^NoNewPrivs:\s+1$", status, re.M
    )
    trace = tmp_path / "strace.log"
    family = [sys.executable, str(EXAMPLE / "family_thermostat.py"), "--members", "2", "--json"]
    family += ["--shared-network", "--device", thermostat_pty]  # the lab node is the network
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_DAN_")}
    run = lab.exec(
        lab.nodes[0],
        [*sandbox, "strace", "-f", "-qq", "-o", str(trace), *family],
        env={**env, "PYTHONPATH": str(REPO)},
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)
    assert result["device"]["setpoint"] == result["terms"][SETPOINT]  # the whole path ran
    calls, families = traced(trace)
    assert {"socket", "ioctl", "openat", "sendto"} <= calls  # the trace was read
    (allowed,) = service("SystemCallFilter")
    assert calls <= syscall_set(allowed), sorted(calls - syscall_set(allowed))
    (restricted,) = service("RestrictAddressFamilies")
    assert families and families <= set(restricted.split()), families


def _private_network() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--net", "--map-root-user", "true"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _private_network(), reason="needs unshare --net for a private loopback")
def test_the_family_agrees_on_the_heating_and_the_thermostat_applies_the_accord(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    firmware = build_thermostat(tmp_path_factory) / "thermostat_mps2_an386.elf"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_DAN_")}
    script = [sys.executable, str(EXAMPLE / "family_thermostat.py"), "--members", "2", "--json"]
    run = subprocess.run(
        [*script, "--firmware", str(firmware)],
        capture_output=True,
        text=True,
        timeout=240,
        env={**env, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["agreement"] is True and result["parties"] == ["house", "Ana", "Ben"]

    accord = Accord.from_bytes(bytes.fromhex(result["accord"]))
    accord.verify()  # every party's signature, checked here, offline
    assert len(accord.parties) == 3 and accord.complete
    assert accord.id.hex() == result["accord_id"]
    setpoint, quiet = accord.terms[SETPOINT], accord.terms["quiet_hours"]
    assert isinstance(setpoint, int) and result["terms"] == accord.terms
    # Every red line: Ana never below 20.5 °C, Ben's guitar until 22:00, the house's 22.0 °C.
    assert 205 <= setpoint <= 220
    assert quiet != "21:00-07:00"
    assert result["stored"] == {"house": 1, "Ana": 1, "Ben": 1}

    # The thermostat reports the accord's set-point under the accord's id.
    device = result["device"]
    assert device["before"] == 200  # the firmware's default, which Ana's red line rules out
    assert device["setpoint"] == setpoint
    assert device["accord_id"] == accord.id.hex()
    # And the house agent's log (the Pi's journal) says so, as the service would.
    journal = result["journal"]
    assert {"event": "thermostat-applied", "setpoint": setpoint} in journal
    (logged,) = [line for line in journal if line["event"] == "accord"]
    assert logged["id"] == accord.id.hex()[:16] and logged["quiet_hours"] == quiet
