"""The house's own Little Dan on a Raspberry Pi: it keeps the thermostat to what the family agreed.

Run by systemd (``edge-dan.service`` next to this file) as a dedicated user, with its passphrase
handed over as a systemd credential::

    python house_agent.py --home /var/lib/edge-dan \\
        --passphrase-file "$CREDENTIALS_DIRECTORY/edge-dan" --device /dev/ttyACM0

It is found on the LAN by the family's agents (its partners, paired once with
``edge-dan pair --open``), joins their negotiations about the heating (the set-point and the
quiet hours, and nothing else), judges them by the house's own rules (the energy budget: lower is
better, and never above 22.0 °C), signs what every party accepts, and applies the signed accord to
the thermostat on ``--device`` (the firmware bridge, ``edge_dan.bridge``): the set-point, under the
accord's id, which the device keeps. The quiet hours are in the same signed accord, kept in the
house's store (the example thermostat has no quiet-hours point). It logs one line per event on
stdout (the journal), never the passphrase nor anyone's preferences, and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from edge_dan import (
    Agent,
    DiscreteIssue,
    EdgeDanError,
    IntegerIssue,
    LanNetwork,
    LittleDan,
    OutcomeSpace,
    Owner,
    RedLine,
    strategy_for,
)
from edge_dan.bridge.accords import DeviceBinding
from edge_dan.bridge.link import SerialDevice
from edge_dan.errors import PassphraseUnavailable
from edge_dan.unlock import passphrase_from_file

if TYPE_CHECKING:
    from edge_dan.agent.networks import Network
    from edge_dan.agent.pairing import AskOwner
    from edge_dan.negotiation.domain.outcomes import Value
    from edge_dan.owner.peers import Peer

SETPOINT = "setpoint_c_x10"  # tenths of a degree Celsius: what the thermostat's point takes
QUIET_HOURS = "quiet_hours"
TOPIC = "heating"
# The family's decision: a set-point from 18.0 to 23.0 °C and a quiet-hours window.
SPACE = OutcomeSpace(
    [
        IntegerIssue(SETPOINT, 180, 230),
        DiscreteIssue(QUIET_HOURS, ("21:00-07:00", "22:00-07:00", "23:00-07:30", "00:00-08:00")),
    ],
    name=TOPIC,
)
MAX_SETPOINT = 220  # the house's red line: the energy budget allows no more than 22.0 °C
DEVICE_RANGE = (50, 300)  # what the example thermostat accepts (firmware_bridge/PROTOCOL.md)
HOUSE_RESERVATION = 0.2

Log = Callable[..., None]


def log_line(event: str, **fields: object) -> None:
    """One line per event on stdout, for the journal: ``event key=value ...``."""
    extra = " ".join(f"{key}={value}" for key, value in fields.items())
    print(f"{event} {extra}".rstrip(), flush=True)


def house_strategy(owner: Owner, space: OutcomeSpace) -> LittleDan | None:
    """The house's negotiator for ``space``, or None when it is not the heating decision.

    The house cares about energy only: the lower the set-point the better, never above
    ``MAX_SETPOINT``; the quiet hours are the family's business (the house is indifferent).
    """
    if tuple(space.issue_names) != (SETPOINT, QUIET_HOURS):
        return None
    setpoint = space.issues[0]
    if not isinstance(setpoint, IntegerIssue) or not isinstance(space.issues[1], DiscreteIssue):
        return None
    low, high = DEVICE_RANGE
    if setpoint.low < low or setpoint.high > high:
        return None  # a set-point the thermostat would refuse: not worth signing
    values = [int(value) for value in setpoint.all_values()]
    span = max(setpoint.high - setpoint.low, 1)
    energy: dict[Value, float] = {value: (setpoint.high - value) / span for value in values}
    too_warm = RedLine.when(
        lambda outcome: int(outcome[0]) > MAX_SETPOINT,
        f"the house never heats above {MAX_SETPOINT / 10:.1f} °C (energy budget)",
    )
    return strategy_for(
        owner,
        space,
        weights={SETPOINT: 1.0, QUIET_HOURS: 0.0},
        tables={SETPOINT: energy},
        reservation=HOUSE_RESERVATION,
        red_lines=(too_warm,),
    )


def house_agent(
    owner: Owner,
    networks: Sequence[Network],
    *,
    thermostat: SerialDevice | None,
    log: Log = log_line,
    on_pairing: AskOwner | None = None,
) -> Agent:
    """The house's Agent: joins heating negotiations by its rules, applies accords to the device."""

    def on_agenda(peer: Peer, title: str, space: OutcomeSpace) -> LittleDan | None:
        strategy = house_strategy(owner, space)
        log("negotiation-joined" if strategy else "negotiation-declined", by=peer.name)
        return strategy

    # The service pairs nobody itself (no owner at a terminal to compare digits): partners are
    # paired with the service stopped, by ``edge-dan pair --open`` on the same home.
    agent = Agent(owner, networks=networks, on_agenda=on_agenda, on_pairing=on_pairing)
    if thermostat is not None:
        agent.bind_device(DeviceBinding(thermostat, {SETPOINT: "setpoint"}))
    return agent


async def report_results(agent: Agent, log: Log = log_line) -> None:
    """Log how each negotiation the house took part in ended, and what the thermostat did."""
    while True:
        result = await agent.negotiations.results.get()
        if result.accord is None:
            why = "" if result.failure is None else result.failure.code.name.lower()
            log("negotiation-failed", why=why)
            continue
        terms = result.accord.terms
        log(
            "accord",
            id=result.accord.id.hex()[:16],
            setpoint=f"{int(terms[SETPOINT]) / 10:.1f}C",
            quiet_hours=terms[QUIET_HOURS],
        )
        for receipt in result.receipts:
            log("thermostat-applied", **{k: v for k, v in receipt.applied.items()})
        if not result.receipts:
            failure = agent.failures[-1] if agent.failures else None
            why = type(failure.error).__name__ if failure and failure.kind == "device" else "none"
            log("thermostat-not-applied", why=why)


def read_passphrase_file(path: Path) -> str:
    """The passphrase in ``path``, checked as ``edge-dan run --passphrase-file`` checks it (a
    regular file nobody else may read, one line: a systemd credential is exactly that)."""
    try:
        return passphrase_from_file(path)
    except PassphraseUnavailable as error:
        raise SystemExit(f"house_agent: {error}") from None


async def serve(owner: Owner, args: argparse.Namespace) -> None:
    thermostat = None
    if args.device:
        thermostat = await asyncio.to_thread(SerialDevice.open, args.device, answer_timeout=2.0)
        caps = await asyncio.to_thread(thermostat.hello)
        log_line("thermostat", kind=caps.kind, setpoint=thermostat.values()["setpoint"])
    networks = [LanNetwork(interfaces=args.interface)] if args.interface else [LanNetwork()]
    agent = house_agent(owner, networks, thermostat=thermostat)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    await agent.start()
    log_line("started", fingerprint=agent.identity.fingerprint, partners=len(owner.peers.list()))
    reporting = asyncio.create_task(report_results(agent))
    try:
        await stop.wait()
    finally:
        log_line("stopping")
        reporting.cancel()
        await asyncio.gather(reporting, return_exceptions=True)
        await agent.stop()  # goodbye on the LAN, sessions closed
        if thermostat is not None:
            thermostat.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, type=Path, help="the house's edge-dan home")
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        help="the passphrase (one line, mode 0600 or stricter), e.g. a systemd credential;"
        " default: $EDGE_DAN_PASSPHRASE",
    )
    parser.add_argument("--device", help="the thermostat's serial port, e.g. /dev/ttyACM0")
    parser.add_argument(
        "--interface", action="append", help="interface or IPv4 address for mDNS (repeatable)"
    )
    args = parser.parse_args(argv)
    if args.passphrase_file is not None:
        passphrase = read_passphrase_file(args.passphrase_file)
    else:
        passphrase = os.environ.get("EDGE_DAN_PASSPHRASE", "")
        if not passphrase:
            raise SystemExit("house_agent: give --passphrase-file (or set $EDGE_DAN_PASSPHRASE)")
    try:
        with Owner.open(args.home, passphrase) as owner:
            del passphrase
            asyncio.run(serve(owner, args))
    except (EdgeDanError, OSError) as exc:  # a wrong passphrase, no store, no thermostat...
        print(f"house_agent: {exc}", file=sys.stderr)
        return 1
    log_line("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
