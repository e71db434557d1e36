"""``edge-dan run``: the long-running agent (a terminal, or a systemd service).

Unlocks the store (``--passphrase-file`` for a service's credential file, else the usual sources),
loads the value model, starts the agent on the LAN (and Bluetooth LE with ``--ble``), serves the
control socket the other commands use, and logs one line per event until SIGTERM or SIGINT;
then it says goodbye on every network, closes every session and the store, and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge_dan.cli.context import Context
from edge_dan.cli.control_server import ControlServer, claim, socket_path
from edge_dan.cli.event_log import EventLog
from edge_dan.cli.numbers import decimal
from edge_dan.cli.through_agent import networks_for
from edge_dan.errors import StoreNotFound, UsageError
from edge_dan.owner import Owner
from edge_dan.store.store import Store
from edge_dan.unlock import passphrase_from_file, unlock_passphrase

if TYPE_CHECKING:
    from edge_dan.cli.agent_service import AgentService


def cmd_run(ctx: Context, args: argparse.Namespace) -> None:
    if not Store.exists(ctx.home):
        raise StoreNotFound(f"no store in {ctx.home}")
    if args.ask and not sys.stdin.isatty():
        raise UsageError("--ask needs a terminal to ask on")
    claim(socket_path(ctx.home))  # a second agent on this home stops here, before any unlock
    passphrase = (
        passphrase_from_file(Path(args.passphrase_file))
        if args.passphrase_file
        else unlock_passphrase(ctx.home)
    )
    # Here, not at the top: the agent brings numpy and the network stack, which the commands
    # that only read the store should not pay for at every start.
    from edge_dan.cli.agent_service import AgentService
    from edge_dan.negotiation.strategy import Mode, Policy

    model = None
    if not args.no_model:
        from edge_dan.model import ValueModel

        model = ValueModel.load()
    policy = Policy(
        mode=Mode.ASK if args.ask else Mode.AUTO,
        min_utility=args.min_utility,
        max_duration=args.max_duration,
    )
    log = EventLog(as_json=ctx.json)
    with _bluetooth_named(args.hci), Owner.open(ctx.home, passphrase) as owner:
        del passphrase
        service = AgentService(
            owner,
            networks=networks_for(args.interface, ble=args.ble, hci_transport=args.hci),
            log=log,
            model=model,
            policy=policy,
            approve=functools.partial(_ask_on_terminal, timeout=args.ask_timeout)
            if args.ask
            else None,
        )
        asyncio.run(_serve(ctx, service, log))
    log("stopped")


@contextlib.contextmanager
def _bluetooth_named(hci_transport: str | None) -> Iterator[None]:
    """Says that a ``BleUnavailable`` (the backend missing, no adapter, no controller at
    ``--hci``) is about the Bluetooth LE asked for, and what else to try."""
    from edge_dan.ble import BleUnavailable

    try:
        yield
    except BleUnavailable as exc:
        other = (
            "check the controller and --hci, or run without --hci"
            if hci_transport
            else "give --hci TRANSPORT (e.g. usb:0) to drive a controller with bumble instead,"
            " or run without --ble"
        )
        raise BleUnavailable(f"Bluetooth LE: {exc}; {other}") from exc


async def _serve(ctx: Context, service: AgentService, log: EventLog) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    server = ControlServer(ctx.home, service.handle, on_bug=lambda text: log("bug", detail=text))
    await server.start()  # first: a second agent on this home stops here, before the network
    try:
        await service.start()
        log("control-socket", path=str(server.path))
        await stop.wait()
    finally:
        await server.stop()
        await service.stop()


async def _ask_on_terminal(question: dict[str, Any], *, timeout: float) -> bool:
    """--ask: the owner approves each commitment on the terminal; no answer in time is a no."""
    outcome = ", ".join(str(value) for value in question["outcome"])
    print(
        f"\nLittle Dan would agree to: {outcome}\nSign it? [y/N] (no in {timeout:g} s) ",
        end="",
        file=sys.stderr,
        flush=True,
    )
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(0), "rb", buffering=0)
    )
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
    except TimeoutError:
        print("no answer: declined", file=sys.stderr)
        return False
    finally:
        transport.close()
    return line.strip().lower() in (b"y", b"yes")


def fraction(text: str) -> float:
    """argparse ``type`` for --min-utility: a plain decimal from 0 to 1."""
    try:
        value = decimal(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text}")
    return value
