"""A family and its house agree on the heating; the thermostat applies the signed accord.

The house's agent (``house_agent.py``, the code the Pi runs as a systemd service) and each family
member's agent have their own encrypted store. Each member pairs with the house (numeric
comparison: both owners see the same six digits; here the script answers yes for them, and says
so), the first member pairs with the others, and then negotiates the set-point and the quiet
hours with everyone. Each member has a red line, so does the house (never above 22.0 °C). The
accord every party signed reaches the thermostat through the firmware bridge: the real example
firmware (``firmware_bridge/examples/thermostat``) under QEMU on a serial pty, as on a Pi the
device is a USB serial port; ``--device /dev/ttyACM0`` uses a real one.

    make -C firmware_bridge firmware          # the thermostat firmware, for QEMU
    python examples/raspberry_pi_household/family_thermostat.py [--members 2] [--json]

Everything runs on this machine, in a private network namespace when ``unshare`` allows one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from house_agent import (
    MAX_SETPOINT,
    QUIET_HOURS,
    SETPOINT,
    SPACE,
    TOPIC,
    house_agent,
    report_results,
)

from edge_dan import (
    Accord,
    Agent,
    KdfParams,
    LanNetwork,
    LittleDan,
    NegotiationResult,
    OutcomeSpace,
    Owner,
    RedLine,
    strategy_for,
)
from edge_dan.bridge.link import SerialDevice

if TYPE_CHECKING:
    from edge_dan.negotiation.domain.outcomes import Value
    from edge_dan.owner.peers import Peer

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware_bridge" / "build" / "thermostat_mps2_an386.elf"
QUIET_OPTIONS = SPACE.issues[1].all_values()


@dataclass
class Member:
    name: str
    comfort: int  # the set-point they like best, in tenths of a degree
    quiet: tuple[str, ...]  # quiet-hours windows from most to least liked
    weight: float  # how much the set-point matters to them against the quiet hours
    red_line: tuple[str, Callable[[int, str], bool], str]  # (issue, crossed by, why)
    owner: Owner | None = None
    agent: Agent | None = None
    reservation: float = 0.3

    def judge(self, peer: Peer, title: str, space: OutcomeSpace) -> LittleDan | None:
        """Asked by a partner: join only the heating decision, by this member's preferences."""
        return self.strategy(space) if space.issue_names == SPACE.issue_names else None

    def strategy(self, space: OutcomeSpace) -> LittleDan:
        assert self.owner is not None
        setpoints = [int(v) for v in space.issues[0].all_values()]
        comfort: dict[Value, float] = {
            v: 1.0 - min(abs(v - self.comfort), 30) / 30 for v in setpoints
        }
        count = len(self.quiet)
        ranks: dict[Value, float] = {q: (count - i) / count for i, q in enumerate(self.quiet)}
        _, crossed, why = self.red_line
        line = RedLine.when(lambda outcome: crossed(int(outcome[0]), str(outcome[1])), why)
        return strategy_for(
            self.owner,
            space,
            weights={SETPOINT: self.weight, QUIET_HOURS: 1.0 - self.weight},
            tables={SETPOINT: comfort, QUIET_HOURS: ranks},
            reservation=self.reservation,
            red_lines=(line,),
        )


FAMILY = (
    Member(
        "Ana",
        comfort=215,
        quiet=("21:00-07:00", "22:00-07:00", "23:00-07:30", "00:00-08:00"),
        weight=0.6,
        red_line=(SETPOINT, lambda s, q: s < 205, "Ana works from home: never below 20.5 °C"),
    ),
    Member(
        "Ben",
        comfort=200,
        quiet=("00:00-08:00", "23:00-07:30", "22:00-07:00", "21:00-07:00"),
        weight=0.4,
        red_line=(QUIET_HOURS, lambda s, q: q == "21:00-07:00", "Ben plays guitar until 22:00"),
    ),
    Member(
        "Caro",
        comfort=210,
        quiet=("22:00-07:00", "21:00-07:00", "23:00-07:30", "00:00-08:00"),
        weight=0.7,
        red_line=(QUIET_HOURS, lambda s, q: q == "00:00-08:00", "Caro's baby sleeps by 23:30"),
    ),
    Member(
        "Dev",
        comfort=205,
        quiet=("23:00-07:30", "22:00-07:00", "00:00-08:00", "21:00-07:00"),
        weight=0.5,
        red_line=(SETPOINT, lambda s, q: s > 215, "Dev sleeps badly above 21.5 °C"),
    ),
)


def says_yes(me: str, names: dict[str, str], say: Callable[[str], None]) -> Callable[..., Any]:
    """An owner's side of numeric comparison: the script reads the digits and says yes."""

    async def confirm(code: str, fingerprint: str) -> str:
        other = names[fingerprint]
        say(f"  {me}'s screen shows {code} for {other}: the same on both, so yes")
        return other

    return confirm


async def pair(opener: Agent, joiner: Agent, confirm: Callable[..., Awaitable[str]]) -> None:
    """``opener``'s owner opens pairing; ``joiner`` sees the offer nearby and pairs: ``confirm``
    asks the joiner's owner, the opener's agent asks its own (its ``on_pairing``)."""
    await opener.open_to_pairing(60.0)
    offer = await joiner.wait_for_pairing_offer(timeout=20)
    peer = await joiner.pair(offer.key, confirm)
    await opener.close_pairing()
    await joiner.wait_for_partner(peer.identity_key, timeout=20)


@asynccontextmanager
async def qemu_thermostat(firmware: Path) -> AsyncIterator[str]:
    """The example thermostat firmware on QEMU's Cortex-M4 board, its UART on a pty: the path."""
    qemu = shutil.which("qemu-system-arm")
    if qemu is None:
        raise SystemExit("qemu-system-arm is not installed (apt-get install qemu-system-arm)")
    process = await asyncio.create_subprocess_exec(
        *(qemu, "-M", "mps2-an386", "-nographic", "-monitor", "none"),
        *("-semihosting-config", "enable=on,target=native", "-serial", "pty"),
        *("-kernel", str(firmware)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        found = re.search(r"(/dev/pts/\d+)", line)
        if found is None:
            raise SystemExit(f"QEMU did not give a serial pty: {line.strip()}")
        yield found.group(1)
    finally:
        process.kill()
        await process.wait()


def lan() -> list[LanNetwork]:
    """One agent's own network (each agent needs its own): mDNS on this loopback."""
    return [LanNetwork(interfaces=["127.0.0.1"])]


@dataclass
class Home:
    """Everyone's store, the house's agent with the thermostat bound, and the members' agents."""

    house_owner: Owner
    house: Agent
    members: Sequence[Member]
    names: dict[str, str]  # fingerprint -> name, as each owner would know their family
    journal: list[dict[str, object]]  # what the house agent logged, as the Pi's journal shows it
    settled: asyncio.Event  # the house logged how its negotiation ended for the thermostat
    house_log: Callable[..., None]  # the house agent's log line (into the journal above)

    @property
    def owners(self) -> dict[str, Owner]:
        return {"house": self.house_owner, **{m.name: m.owner for m in self.members if m.owner}}

    @property
    def agents(self) -> list[Agent]:
        return [self.house, *(m.agent for m in self.members if m.agent is not None)]


def make_home(
    folder: Path, members: Sequence[Member], thermostat: SerialDevice, say: Callable[[str], None]
) -> Home:
    kdf = KdfParams.fresh(2, 16 * 1024 * 1024)  # a demo: quick to unlock, still Argon2id
    house_owner = Owner.create(folder / "house", "the house's passphrase", kdf=kdf)
    names = {house_owner.identity.ensure().fingerprint: "house"}
    for member in members:
        member.owner = Owner.create(folder / member.name.lower(), f"{member.name}'s", kdf=kdf)
        names[member.owner.identity.ensure().fingerprint] = member.name

    journal: list[dict[str, object]] = []
    settled = asyncio.Event()

    def house_says(event: str, **fields: object) -> None:
        journal.append({"event": event, **fields})
        if event in ("thermostat-applied", "thermostat-not-applied", "negotiation-failed"):
            settled.set()
        say(f"  [house] {event} " + " ".join(f"{k}={v}" for k, v in fields.items()))

    house = house_agent(
        house_owner,
        lan(),
        thermostat=thermostat,
        log=house_says,
        on_pairing=says_yes("the house owner", names, say),
    )
    for member in members:
        assert member.owner is not None
        member.agent = Agent(
            member.owner,
            networks=lan(),
            on_agenda=member.judge,
            on_pairing=says_yes(member.name, names, say),
        )
    return Home(house_owner, house, members, names, journal, settled, house_says)


async def pair_everyone(home: Home, say: Callable[[str], None]) -> None:
    """Each member pairs with the house; the first member with each of the others."""
    first, *others = home.members
    assert first.agent is not None
    for member in home.members:
        assert member.agent is not None
        say(f"The house opens pairing; {member.name}'s agent sees it nearby:")
        await pair(home.house, member.agent, says_yes(member.name, home.names, say))
    for member in others:
        assert member.agent is not None
        say(f"{member.name} opens pairing; {first.name}'s agent sees it nearby:")
        await pair(member.agent, first.agent, says_yes(first.name, home.names, say))


async def decide(home: Home, say: Callable[[str], None]) -> NegotiationResult:
    """The first member negotiates with the house and the others; the house logs what its
    thermostat did (``house_agent.report_results``, as on the Pi)."""
    first, *others = home.members
    assert first.agent is not None
    parties = [home.house.identity.public_key]
    parties += [m.agent.identity.public_key for m in others if m.agent is not None]
    for key in parties:
        await first.agent.wait_for_partner(key, timeout=20)
    say(f"{first.name}'s agent asks the house and the family about the heating...")
    reporting = asyncio.create_task(report_results(home.house, home.house_log))
    try:
        result = await first.agent.negotiate(
            parties, TOPIC, SPACE, first.strategy(SPACE), timeout=60
        )
        await asyncio.wait_for(home.settled.wait(), 30)
    finally:
        reporting.cancel()
        await asyncio.gather(reporting, return_exceptions=True)
    return result


async def household(
    folder: Path, device: str, members: Sequence[Member], say: Callable[[str], None]
) -> dict[str, Any]:
    thermostat = await asyncio.to_thread(SerialDevice.open, device, answer_timeout=2.0)
    try:
        caps = await asyncio.to_thread(thermostat.hello)
        before = (await asyncio.to_thread(thermostat.values))["setpoint"]
        say(f"The {caps.kind} on {device} is at {before / 10:.1f} °C")
        home = make_home(folder, members, thermostat, say)
        try:
            for agent in home.agents:
                await agent.start()
            await pair_everyone(home, say)
            result = await decide(home, say)
        finally:
            for agent in home.agents:
                await agent.stop()
        if result.accord is None:
            say(f"No agreement: {result.failure}")
            return {"agreement": False, "failure": str(result.failure)}
        state = await asyncio.to_thread(thermostat.state)
        after = (await asyncio.to_thread(thermostat.values))["setpoint"]
    finally:
        thermostat.close()
    device_report = {
        "before": before,
        "setpoint": after,
        "accord_id": state.accord_id.hex(),
    }
    return summary(home, result.accord, device_report, say)


def summary(
    home: Home, accord: Accord, device: dict[str, Any], say: Callable[[str], None]
) -> dict[str, Any]:
    accord.verify()  # every party's signature, offline
    setpoint, quiet = int(accord.terms[SETPOINT]), str(accord.terms[QUIET_HOURS])
    members = home.members
    utilities = {m.name: round(m.strategy(SPACE).profile((setpoint, quiet)), 3) for m in members}
    stored = {n: len(owner.accords.list(binding_only=True)) for n, owner in home.owners.items()}
    say("")
    say(f"Agreed, signed by the house and {', '.join(m.name for m in members)}:")
    say(f"  heating at {setpoint / 10:.1f} °C, quiet hours {quiet}")
    for m in members:
        say(f"  {m.name}: utility {utilities[m.name]:.2f}; red line kept: {m.red_line[2]}")
    say(f"  the house: never above {MAX_SETPOINT / 10:.1f} °C: kept")
    say(
        f"  the thermostat now holds {device['setpoint'] / 10:.1f} °C under accord"
        f" {device['accord_id'][:16]}... (this accord: {accord.id.hex()[:16]}...)"
    )
    say(f"  kept in every store: {stored}")
    return {
        "agreement": True,
        "terms": {SETPOINT: setpoint, QUIET_HOURS: quiet},
        "accord": accord.to_bytes().hex(),
        "accord_id": accord.id.hex(),
        "parties": ["house", *(m.name for m in members)],
        "red_lines": {m.name: m.red_line[2] for m in members},
        "utilities": utilities,
        "stored": stored,
        "device": device,
        "journal": home.journal,  # the house agent's log lines, as the Pi's journal shows them
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, choices=range(1, 5), default=3, metavar="N")
    parser.add_argument("--device", help="a real thermostat's serial port (default: QEMU)")
    parser.add_argument("--firmware", type=Path, default=FIRMWARE, help="the firmware for QEMU")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--shared-network", action="store_true", help="use this host's loopback")
    args = parser.parse_args()
    if not args.device and not args.firmware.is_file():
        parser.error(f"no firmware at {args.firmware}: make -C firmware_bridge firmware")
    if not args.shared_network and os.environ.get("EDGE_DAN_DEMO_NETNS") != "1":
        rerun = isolated()
        if rerun is not None:
            return rerun
    say = (lambda text: None) if args.json else print
    members = FAMILY[: args.members]

    async def run() -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="edge-dan-pi-household-") as home:
            if args.device:
                return await household(Path(home), args.device, members, say)
            async with qemu_thermostat(args.firmware) as pty:
                return await household(Path(home), pty, members, say)

    result = asyncio.run(run())
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    return 0 if result["agreement"] else 1


def isolated() -> int | None:
    """Run this script again in a private network namespace (its own loopback), if possible."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    command = [unshare, "--net", "--map-root-user"]
    if subprocess.run([*command, "true"], capture_output=True, check=False).returncode != 0:
        return None
    script = [sys.executable, *sys.argv]
    shell = [*command, "sh", "-c", 'ip link set lo up && exec "$@"', "family", *script]
    env = {**os.environ, "EDGE_DAN_DEMO_NETNS": "1"}
    return subprocess.run(shell, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
