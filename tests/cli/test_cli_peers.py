"""``edge-dan peers`` against real mDNS, in a private network namespace with only a loopback.

The test, its advertisers and the CLI all run under one ``unshare --net`` shell, so multicast never
leaves the namespace. One advertiser is a partner (its advertising key is in the store), one is a
stranger open to pairing; a third partner is paired but away.
"""

from __future__ import annotations

import json
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FAST_KDF, Cli

from edge_dan.identity import Identity, fingerprint
from edge_dan.owner import Owner
from edge_dan.pairing.result import PairingResult

HERE = Path(__file__).parent


def _can_unshare() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return f"cannot make a network namespace here: {probe.stderr.decode().strip()}"
    return None


pytestmark = pytest.mark.skipif(_can_unshare() is not None, reason=str(_can_unshare()))


def _pair(owner: Owner, name: str) -> tuple[bytes, bytes]:
    peer = Identity.generate()
    result = PairingResult("numeric", peer.static_public_key, secrets.token_bytes(32), bytes(64))
    owner.peers.add(peer.public_key, result, name)
    key = secrets.token_bytes(32)
    owner.advertising.set_partner_key(peer.public_key, key)
    return peer.public_key, key


def _in_namespace(cli: Cli, script: str) -> subprocess.CompletedProcess[str]:
    """Run a shell script inside a fresh network namespace with its loopback up."""
    return subprocess.run(
        ["unshare", "--net", "sh", "-c", "ip link set lo up && " + script],
        capture_output=True,
        text=True,
        env={**cli.env, "EDGE_DAN_HOME": str(cli.home)},
        timeout=120,
        check=False,
    )


@pytest.fixture
def homes(cli: Cli) -> dict[str, tuple[bytes, bytes]]:
    with Owner.create(cli.home, cli.env["EDGE_DAN_PASSPHRASE"], kdf=FAST_KDF.with_new_salt()) as s:
        return {"Alice": _pair(s, "Alice"), "Bob": _pair(s, "Bob")}


def _advertise(key: bytes, seconds: float, *flags: str) -> str:
    script = shlex.quote(str(HERE / "advertise.py"))
    extra = " ".join(flags)
    return f"{shlex.quote(sys.executable)} {script} {key.hex()} {seconds} {extra} >/dev/null &"


def test_peers_lists_the_partner_by_name_and_the_stranger_by_its_flag(
    cli: Cli, homes: dict[str, tuple[bytes, bytes]]
) -> None:
    alice_identity, alice_key = homes["Alice"]
    # Generous times: under load (another job on both cores) the advertisers took longer than
    # 1.5 s to start and register, and the listing came back empty.
    peers = f"{shlex.quote(sys.executable)} -m edge_dan.cli.main --json peers --time 8"
    result = _in_namespace(
        cli,
        _advertise(alice_key, 20)
        + _advertise(secrets.token_bytes(32), 20, "open")
        + f"sleep 3; {peers} --interface 127.0.0.1",
    )
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    by_kind = {("partner" if e["partner"] else "stranger"): e for e in listing["nearby"]}
    assert set(by_kind) == {"partner", "stranger"}, listing
    alice = by_kind["partner"]
    assert alice["name"] == "Alice" and alice["fingerprint"] == fingerprint(alice_identity)
    assert alice["via"] == "lan" and alice["address"] == "127.0.0.1:45678"
    assert not alice["open_to_pairing"]
    stranger = by_kind["stranger"]
    assert stranger["open_to_pairing"] and stranger["name"] is None
    assert stranger["fingerprint"] is None
    assert [p["name"] for p in listing["not_seen"]] == ["Bob"]


def test_watch_reports_arrival_and_goodbye(cli: Cli, homes: dict[str, tuple[bytes, bytes]]) -> None:
    _, bob_key = homes["Bob"]
    watch = f"{shlex.quote(sys.executable)} -m edge_dan.cli.main peers --watch --time 7"
    result = _in_namespace(cli, _advertise(bob_key, 3) + f"{watch} --interface 127.0.0.1 --json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [(e["event"], e["peer"]["name"]) for e in events]
    assert ("added", "Bob") in kinds and ("removed", "Bob") in kinds, kinds
    assert kinds.index(("added", "Bob")) < kinds.index(("removed", "Bob"))


def test_peers_with_nobody_around_and_bad_arguments(cli: Cli) -> None:
    cli("init", "--unlock-time", "0.05")
    peers = f"{shlex.quote(sys.executable)} -m edge_dan.cli.main peers --time 1"
    result = _in_namespace(cli, f"{peers} --interface 127.0.0.1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Nobody nearby."
    bad = cli("peers", "--time", "-1")
    assert bad.code == 2 and "--time" in bad.err
    missing = _in_namespace(cli, f"{peers} --interface no-such-if0")
    assert missing.returncode == 1 and "cannot listen" in missing.stderr
    assert "Traceback" not in missing.stderr
