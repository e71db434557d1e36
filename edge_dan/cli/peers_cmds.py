"""``edge-dan peers``: who is nearby, over the LAN (mDNS) and Bluetooth LE.

Partners (paired peers whose advertising key we hold) are recognised by name whatever their
current token; strangers show only what their advert says (open to pairing or not). The store is
read once for the partners' keys and closed before listening: nothing is written.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from edge_dan.cli.context import Context
from edge_dan.discovery.directory import Added, DirectoryEvent, PeerDirectory, PeerEntry, Removed
from edge_dan.discovery.feed import apply_lan_event, ble_sighting
from edge_dan.discovery.tokens import Recogniser
from edge_dan.errors import EdgeDanError, UsageError
from edge_dan.identity import fingerprint

if TYPE_CHECKING:
    from edge_dan.discovery.ble import BleScanner, BleSighting
    from edge_dan.discovery.mdns import MdnsBrowser

DEFAULT_LISTEN_SECONDS = 3.0  # running peers answer an mDNS query within about a second
EXPIRE_EVERY = 1.0


class DiscoveryUnavailable(EdgeDanError):
    """Neither the LAN nor Bluetooth could be listened on."""


def cmd_peers(ctx: Context, args: argparse.Namespace) -> None:
    if args.time is not None and args.time <= 0:
        raise UsageError("--time must be a positive number of seconds")
    with ctx.open_owner() as owner:
        keys = owner.advertising.partner_keys()
        paired = {peer.identity_key: peer.name for peer in owner.peers.list()}
    directory = PeerDirectory(Recogniser(keys), paired)
    if args.watch:
        printer = _json_line if ctx.json else _text_line
        asyncio.run(_listen(ctx, args, directory, args.time, on_event=printer))
        return
    asyncio.run(_listen(ctx, args, directory, args.time or DEFAULT_LISTEN_SECONDS))
    _print_listing(ctx, directory, paired, keys)


async def _listen(
    ctx: Context,
    args: argparse.Namespace,
    directory: PeerDirectory,
    seconds: float | None,
    on_event: Callable[[DirectoryEvent], None] | None = None,
) -> None:
    """Browse until ``seconds`` have passed (forever if None), feeding the directory."""
    from edge_dan.discovery.mdns import MdnsBrowser

    events: asyncio.Queue[DirectoryEvent] = asyncio.Queue()
    deadline = None if seconds is None else time.monotonic() + seconds
    browser: MdnsBrowser | None = None
    lan_problem = ""
    try:
        starting = MdnsBrowser(interfaces=args.interface or None)
        await starting.start()
        browser = starting
        ctx.note("Listening on the LAN (mDNS) ...")
    except (OSError, EdgeDanError) as exc:
        lan_problem = f"cannot listen for agents on the LAN: {exc}"
    ble = contextlib.AsyncExitStack()
    scanner = None if args.no_ble else await _start_ble(ctx, ble, directory, events)
    if browser is None and scanner is None:
        raise DiscoveryUnavailable(lan_problem)
    if browser is None:
        ctx.note(f"LAN: {lan_problem}")

    async def follow_lan() -> None:
        if browser is None:
            return
        async for event in browser:
            for change in apply_lan_event(directory, event, time.time()):
                events.put_nowait(change)

    lan = asyncio.create_task(follow_lan())
    try:
        while deadline is None or time.monotonic() < deadline:
            wait = (
                EXPIRE_EVERY if deadline is None else min(EXPIRE_EVERY, deadline - time.monotonic())
            )
            with contextlib.suppress(TimeoutError):
                change = await asyncio.wait_for(events.get(), timeout=max(wait, 0.0))
                if on_event is not None:
                    on_event(change)
            for change in directory.expire(time.time()):
                if on_event is not None:
                    on_event(change)
    finally:
        lan.cancel()
        await asyncio.gather(lan, return_exceptions=True)
        if browser is not None:
            await browser.stop()
        await ble.aclose()


async def _start_ble(
    ctx: Context,
    stack: contextlib.AsyncExitStack,
    directory: PeerDirectory,
    events: asyncio.Queue[DirectoryEvent],
) -> BleScanner | None:
    """Scan for agents over Bluetooth LE on this platform's central backend (bleak), if this
    machine can; None (said) if not. ``stack`` closes the backend."""
    from edge_dan.ble import open_central
    from edge_dan.discovery.ble import BleScanner

    def on_sighting(seen: BleSighting) -> None:
        for change in directory.observe(ble_sighting(seen)):
            events.put_nowait(change)

    try:
        scanner = BleScanner(await stack.enter_async_context(open_central()))
        await scanner.start(on_sighting)
    except (ImportError, OSError, EdgeDanError) as exc:  # no bleak, no BlueZ/D-Bus, no adapter
        await stack.aclose()
        ctx.note(f"Bluetooth LE: not listening ({type(exc).__name__}: {exc})")
        return None
    ctx.note("Listening over Bluetooth LE ...")
    return scanner


def _label(entry: PeerEntry) -> str:
    if entry.partner:
        return entry.name or "(partner)"
    return "stranger, open to pairing" if entry.open_to_pairing else "stranger"


def _text_line(event: DirectoryEvent) -> None:
    verb = {Added: "+", Removed: "-"}.get(type(event), "~")
    entry = event.entry
    where = (
        "gone"
        if isinstance(event, Removed)
        else f"{entry.preferred.transport} {entry.preferred.address}"
    )
    print(f"{verb} {_label(entry)}  {where}", flush=True)


def _json_line(event: DirectoryEvent) -> None:
    kind = type(event).__name__.lower()
    print(json.dumps({"event": kind, "peer": event.entry.to_json()}, sort_keys=True), flush=True)


def _print_listing(
    ctx: Context, directory: PeerDirectory, paired: dict[bytes, str], keys: dict[bytes, bytes]
) -> None:
    entries = directory.entries()
    seen = {entry.identity_key for entry in entries if entry.partner}
    absent = [
        {"name": name, "fingerprint": fingerprint(key), "recognisable": key in keys}
        for key, name in sorted(paired.items(), key=lambda item: item[1])
        if key not in seen
    ]
    data: dict[str, Any] = {"nearby": [entry.to_json() for entry in entries], "not_seen": absent}
    now = time.time()
    lines = []
    for entry in entries:
        link = entry.preferred
        rssi = "" if entry.rssi is None else f"  {entry.rssi} dBm"
        lines.append(
            f"{_label(entry):<28} {link.transport:<4} {link.address:<24}"
            f" {now - entry.last_seen:4.0f} s ago{rssi}"
        )
    for missing in absent:
        why = "" if missing["recognisable"] else " (its advertising key has not arrived yet)"
        lines.append(f"{missing['name']:<28} not seen{why}")
    ctx.emit(data, "\n".join(lines) if lines else "Nobody nearby.")
