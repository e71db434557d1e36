"""The ``edge_dan_run_over_bluez`` case of the blevm scenario: ``edge-dan run --ble`` on BlueZ.

A real ``edge-dan run --ble --no-model`` process in the guest, whose Bluetooth LE is the
platform's (bleak as the central and our BlueZ peripheral, both on ``hci0``). Its LAN runs on the
loopback only, and the partner has no LAN at all, so Bluetooth is the only way between them. The
partner is an in-process ``edge_dan.Agent`` whose only network is a ``BleNetwork`` on bumble's own
host, on a fresh controller of the scenario's simulated link (a device of its own: the other
cases' GATT services stay off it).

Each side plays one role of ``run --ble`` in each step, so both backends of the platform carry a
session:

1. pairing: ``edge-dan pair --open --yes --name Partner`` through the running agent's control
   socket; the partner sees the offer (BlueZ's advertisement) and pairs with ``Agent.pair``, its
   bumble central connecting to the BlueZ peripheral. Numeric comparison: both sides must see
   the same six digits.
2. negotiation: ``edge-dan negotiate ... --with Partner --json`` through the control socket; the
   running agent reaches the partner with bleak (its central) at the bumble peripheral, the
   partner answers by ``strategy_for`` (its owner's tables; no model needed for these issues).
3. SIGTERM: ``run`` says goodbye and exits 0; both stores then hold the same accord, which
   verifies, and the run's event log shows every link it used was ``ble``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bumble.device import Device
from bumble.link import LocalLink

from edge_dan import (
    Agent,
    BleNetwork,
    KdfParams,
    LittleDan,
    OutcomeSpace,
    Owner,
    Peer,
    ValueProfile,
    strategy_for,
)
from edge_dan.ble import AGENT_SERVICE
from edge_dan.ble.backends.bumble import BumbleCentral, BumblePeripheral
from edge_dan.ble.backends.sim import powered_device
from edge_dan.negotiation import Accord

PASSPHRASE = "blevm run passphrase"  # noqa: S105 (a throwaway store in the guest)
RUN_NAME = "Runner"  # what the partner keeps the running agent as
PARTNER_NAME = "Partner"  # what the running agent keeps the partner as
ISSUES = ("dinner=home,restaurant", "start=18h,20h")
AskOwner = Callable[[str, str], Awaitable[str | None]]  # (code, fingerprint) -> name or None
STEP_TIMEOUT = 90.0  # seconds for one step (software emulation: a CLI start takes seconds)


def edge_dan(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "edge_dan.cli.main", "--home", str(home), *args]


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_DAN_")}
    return {**env, "EDGE_DAN_PASSPHRASE": PASSPHRASE}


async def cli(home: Path, *args: str) -> tuple[int, str, str]:
    """``edge-dan ARGS`` to the end, as a child process (async: the radio lives in this loop)."""
    process = await asyncio.create_subprocess_exec(
        *edge_dan(home, *args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(),
    )
    out, err = await asyncio.wait_for(process.communicate(), STEP_TIMEOUT)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def text_of(path: Path) -> str:
    return path.read_text() if path.is_file() else ""


def events(log: Path) -> list[dict[str, Any]]:
    lines = text_of(log).splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


async def running_agent(home: Path, log: Path, errors: Path) -> asyncio.subprocess.Process:
    """``edge-dan run --ble`` in the background, once it says its networks are up."""
    with log.open("wb") as out, errors.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            *edge_dan(home, "--json", "run", "--ble", "--no-model", "--interface", "lo"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=cli_env(),
        )
    deadline = time.monotonic() + STEP_TIMEOUT
    while not any(e["event"] == "control-socket" for e in events(log)):
        if process.returncode is not None or time.monotonic() > deadline:
            await stop(process)
            raise RuntimeError(f"edge-dan run did not start: {text_of(errors)[-2000:]}")
        await asyncio.sleep(0.2)
    return process


async def open_pairing(home: Path) -> asyncio.subprocess.Process:
    """``edge-dan pair --open`` through the running agent, once it says pairing is open."""
    opening = await asyncio.create_subprocess_exec(
        *edge_dan(home, "pair", "--open", "90", "--yes", "--name", PARTNER_NAME, "--json"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(),
    )
    assert opening.stderr is not None
    seen = b""
    while b"Open to pairing" not in seen:
        line = await asyncio.wait_for(opening.stderr.readline(), STEP_TIMEOUT)
        if not line:
            raise RuntimeError(f"pair --open did not open: {seen.decode()}")
        seen += line
    return opening


async def stop(process: asyncio.subprocess.Process) -> int:
    """SIGTERM, as systemd or Ctrl-C would; its exit code (killed after a grace period)."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(process.wait(), 30.0)
    except TimeoutError:
        process.kill()
        await process.wait()
        return -9


def owner_confirms(codes: list[str]) -> AskOwner:
    """The partner's owner says yes to the pairing and names the runner; the digits they were
    shown are kept, to compare with those ``pair --open`` printed."""

    async def confirm(code: str, fingerprint: str) -> str:
        codes.append(code)
        return RUN_NAME

    return confirm


def partner_agent(owner: Owner, device: Device, confirm: AskOwner) -> Agent:
    """The other person's agent: Bluetooth LE alone, on bumble's own host."""

    def judge(peer: Peer, title: str, space: OutcomeSpace) -> LittleDan:
        return strategy_for(owner, space)

    network = BleNetwork(BumbleCentral(device), BumblePeripheral(device, AGENT_SERVICE))
    return Agent(owner, networks=[network], on_pairing=confirm, on_agenda=judge)


async def stored_accords(owner: Owner, wanted: int, timeout: float) -> list[bytes]:
    """The binding accords' bytes, once ``wanted`` are there (the last signature may still be
    on its way when the initiator's command returns)."""
    deadline = time.monotonic() + timeout
    while True:
        accords = [s.accord.to_bytes() for s in owner.accords.list(binding_only=True)]
        if len(accords) >= wanted or time.monotonic() > deadline:
            return accords
        await asyncio.sleep(0.5)


def new_owner(home: Path) -> Owner:
    """A new store, as ``edge-dan init`` leaves it: an identity and the neutral profile."""
    kdf = KdfParams.fresh(2, 16 * 1024 * 1024)  # a test: quick to unlock, still Argon2id
    owner = Owner.create(home, PASSPHRASE, kdf=kdf)
    owner.identity.ensure()
    owner.profile.update(ValueProfile.neutral(), source="init", note="new store")
    return owner


def read_run_store(home: Path) -> tuple[list[str], list[bytes]]:
    """After ``run`` exited: the partners' names and the binding accords in its store."""
    with Owner.open(home, PASSPHRASE) as owner:
        names = [peer.name for peer in owner.peers.list()]
        return names, [s.accord.to_bytes() for s in owner.accords.list(binding_only=True)]


def verifies(data: bytes) -> bool:
    try:
        Accord.from_bytes(data).verify()
    except Exception:
        return False
    return True


class Steps:
    """Seconds each step took (software emulation is slow: this says where the time goes)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._since = time.monotonic()

    def done(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = round(now - self._since, 1)
        self._since = now


async def pair_through_cli(
    home: Path, partner: Agent, confirm: AskOwner, codes: list[str]
) -> dict[str, Any]:
    """The runner's owner opens pairing with the command line; the partner pairs with it."""
    opening = await open_pairing(home)
    offer = await partner.wait_for_pairing_offer(STEP_TIMEOUT)
    runner = await partner.pair(offer.key, confirm)
    out, err = await asyncio.wait_for(opening.communicate(), STEP_TIMEOUT)
    if opening.returncode != 0:
        raise RuntimeError(f"pair --open exited {opening.returncode}: {err.decode()}")
    paired = json.loads(out)["paired"]
    return {
        "offer_links": sorted(offer.links),
        "run_code": paired["code"],
        "partner_codes": codes,
        "run_named": paired["name"],
        "partner_named": runner.name,
        "runner_key": runner.identity_key.hex(),
        "runner_fingerprint": runner.fingerprint,
    }


async def negotiate_through_cli(home: Path) -> dict[str, Any]:
    """The runner's owner asks for a negotiation with the command line; the partner answers."""
    argv = ["negotiate", "Saturday", "--with", PARTNER_NAME, "--json"]
    argv += ["--deadline", "60", "--wait", "60"]
    for issue in ISSUES:
        argv += ["--issue", issue]
    code, out, err = await cli(home, *argv)
    if code != 0:
        raise RuntimeError(f"negotiate exited {code}: {err}")
    summary = json.loads(out)
    return {"agreed": summary["agreed"], "cli_accord_id": summary.get("accord_id")}


def passed(details: dict[str, Any]) -> bool:
    return bool(
        details["run_exit"] == 0
        and details["run_networks"] == "lan,ble"
        and details["partner_codes"] == [details["run_code"]]  # numeric comparison: same digits
        and details["runner_fingerprint"] == details["run_fingerprint"]
        and (details["run_named"], details["partner_named"]) == (PARTNER_NAME, RUN_NAME)
        and details["run_partners"] == [PARTNER_NAME]  # both stores keep the other
        and details["partner_partners"] == [RUN_NAME]
        and details["agreed"] is True
        and details["accords_equal"]
        and details["accords_verify"]
        and details["run_accord_ids"] == [details["cli_accord_id"]]
        and details["run_vias"] == ["ble"]
        and details["offer_links"] == ["ble"]
        and details["partner_links"] == ["ble"]
    )


async def case_edge_dan_run_over_bluez(link: LocalLink) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="edge-dan-run-"))
    home, log, errors = work / "runner", work / "run.jsonl", work / "run.stderr"
    steps = Steps()
    details: dict[str, Any] = {"step_seconds": steps.seconds}
    # Both homes made here, as 'edge-dan init' makes one (a CLI start costs tens of seconds in
    # the guest); the runner's is closed again at once, for 'edge-dan run' to open.
    await asyncio.to_thread(lambda: new_owner(home).close())
    owner = await asyncio.to_thread(new_owner, work / "partner")
    device = await powered_device(link, "partner")
    codes: list[str] = []
    confirm = owner_confirms(codes)
    partner = partner_agent(owner, device, confirm)
    steps.done("homes")
    run: asyncio.subprocess.Process | None = None
    try:
        run = await running_agent(home, log, errors)
        steps.done("run_started")
        await partner.start()
        started = next(e for e in events(log) if e["event"] == "started")
        details.update(run_networks=started["networks"], run_fingerprint=started["fingerprint"])
        details.update(await pair_through_cli(home, partner, confirm, codes))
        steps.done("paired")
        details.update(await negotiate_through_cli(home))
        steps.done("negotiated")
        partner_accords = await stored_accords(owner, 1, 20.0)
        entry = partner.directory.partner(bytes.fromhex(details["runner_key"]))
        details["partner_links"] = sorted(entry.links) if entry is not None else []
        details["partner_partners"] = [peer.name for peer in owner.peers.list()]
    except BaseException:
        # The traceback alone says little about the other process: show its side too.
        print(f"edge-dan run's log:\n{text_of(log)}\nits stderr:\n{text_of(errors)}")
        raise
    finally:
        await partner.stop()
        details["run_exit"] = await stop(run) if run is not None else None
        steps.done("stopped")
        owner.close()
        with contextlib.suppress(Exception):
            await device.power_off()

    run_events = events(log)
    names, run_accords = await asyncio.to_thread(read_run_store, home)
    details.update(
        run_events=[e["event"] for e in run_events],
        run_vias=sorted({str(e["via"]) for e in run_events if "via" in e}),
        run_partners=names,
        run_accord_ids=[Accord.from_bytes(a).id.hex() for a in run_accords],
        partner_accord_ids=[Accord.from_bytes(a).id.hex() for a in partner_accords],
        accords_equal=run_accords == partner_accords,
        accords_verify=bool(run_accords) and all(verifies(a) for a in run_accords),
        run_stderr_tail=text_of(errors)[-600:],
    )
    details["ok"] = passed(details)
    return details
