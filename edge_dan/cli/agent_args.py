"""The arguments of ``run``, ``pair`` and ``negotiate`` (registered by ``edge_dan.cli.main``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from edge_dan.cli import negotiate_cmds, pair_cmds, run_cmds
from edge_dan.cli.numbers import seconds_option

MAX_OPEN_SECONDS = 3600.0
MAX_WAIT_SECONDS = 3600.0
MAX_DEADLINE = 3600.0


def _interfaces(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--interface",
        action="append",
        metavar="IF",
        help="interface name or IPv4 address for mDNS (repeatable; default: all)",
    )


def add_agent_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command(
        "run",
        run_cmds.cmd_run,
        "run your agent: found by nearby agents, pairs, negotiates by your policy, keeps accords"
        " (until SIGTERM or Ctrl-C); other commands reach it through HOME/control.sock",
    )
    p.add_argument(
        "--passphrase-file",
        metavar="FILE",
        help="read the passphrase from FILE (one line; mode 0600 or stricter), e.g. a systemd"
        " credential: $CREDENTIALS_DIRECTORY/edge-dan",
    )
    p.add_argument(
        "--ble",
        action="store_true",
        help="also advertise and listen over Bluetooth LE (off unless asked: needs an adapter;"
        " the OS's stack: BlueZ on Linux)",
    )
    p.add_argument(
        "--hci",
        metavar="TRANSPORT",
        help="Bluetooth LE on this controller, driven by bumble instead of the OS's stack (any"
        " OS): usb:0, serial:/dev/ttyACM0, hci-socket:0, tcp-client:HOST:PORT, unix:PATH"
        " (implies --ble)",
    )
    policy = p.add_mutually_exclusive_group()
    policy.add_argument(
        "--policy",
        choices=["auto"],
        default="auto",
        help="auto (default): your values decide, within --min-utility and --max-duration",
    )
    policy.add_argument(
        "--ask",
        action="store_true",
        help="ask on this terminal before signing each accord (no answer in time declines)",
    )
    p.add_argument(
        "--ask-timeout",
        type=seconds_option(0, 3600.0),
        default=60.0,
        metavar="SEC",
        help="with --ask: seconds to answer before Little Dan declines (default 60)",
    )
    p.add_argument(
        "--min-utility",
        type=run_cmds.fraction,
        default=0.0,
        metavar="X",
        help="never agree below this utility (0 to 1; default 0: your reservation value rules)",
    )
    p.add_argument(
        "--max-duration",
        type=seconds_option(0, 24 * 3600.0),
        default=600.0,
        metavar="SEC",
        help="longest negotiation a partner may hold you in (default 600)",
    )
    p.add_argument(
        "--no-model",
        action="store_true",
        help="do not load the value model (saves memory; free-text options are then declined)",
    )
    _interfaces(p)

    p = command(
        "pair",
        pair_cmds.cmd_pair,
        "pair with a stranger's agent nearby: by numeric comparison (--open, --with), a QR"
        " code (--qr, --scan-text) or a typed code (--code, --code-entry)",
    )
    p.add_argument(
        "--open",
        nargs="?",
        const=pair_cmds.DEFAULT_OPEN_SECONDS,
        type=seconds_option(0, MAX_OPEN_SECONDS),
        metavar="SECONDS",
        help="let a stranger nearby pair with you for SECONDS (default 120)",
    )
    p.add_argument(
        "--with",
        dest="with_peer",
        nargs="?",
        const="",
        metavar="PEER",
        help="pair with a stranger who opened pairing: its key or address as 'edge-dan peers'"
        " lists it (default: the only one nearby)",
    )
    p.add_argument(
        "--qr",
        nargs="?",
        const=pair_cmds.DEFAULT_OPEN_SECONDS,
        type=seconds_option(0, MAX_OPEN_SECONDS),
        metavar="SECONDS",
        help="show a one-time QR code (and its text) for SECONDS (default 120); the device"
        " that scans it, or pastes its text with --scan-text, pairs with you",
    )
    p.add_argument(
        "--scan-text",
        metavar="TEXT",
        help="pair with the device showing this QR code, by its text (EDGEDAN:1:...; '-' reads"
        " it from stdin): for a device without a camera",
    )
    p.add_argument(
        "--code",
        nargs="?",
        const=pair_cmds.DEFAULT_OPEN_SECONDS,
        type=seconds_option(0, MAX_OPEN_SECONDS),
        metavar="SECONDS",
        help="show an 8-digit code for SECONDS (default 120, 5 attempts) to type on the other"
        " device with --code-entry: for a device without a screen or camera",
    )
    p.add_argument(
        "--code-entry",
        metavar="CODE",
        help="pair with the device showing this 8-digit code ('-' reads it from stdin)",
    )
    p.add_argument(
        "--wait",
        type=seconds_option(0, MAX_WAIT_SECONDS),
        default=pair_cmds.DEFAULT_WAIT_SECONDS,
        metavar="SEC",
        help="with --with, --scan-text, --code-entry: how long to look for the other device"
        " (default 30)",
    )
    p.add_argument(
        "--yes",
        action="store_true",
        help="confirm without asking: skips comparing the digits (numeric comparison) and"
        " naming the new partner, so it is for tests and automation only",
    )
    p.add_argument("--name", help="with --yes: the name to keep the new partner under")
    _interfaces(p)

    p = command(
        "negotiate",
        negotiate_cmds.cmd_negotiate,
        "decide something with partners nearby; prints what was agreed and why",
    )
    p.add_argument("topic", metavar="TOPIC", help="what is being decided, e.g. 'Saturday'")
    p.add_argument(
        "--option",
        action="append",
        metavar="TEXT",
        help="a free-text option, judged by each owner's values (repeat: two or more)",
    )
    p.add_argument(
        "--issue",
        action="append",
        type=negotiate_cmds.parse_issue,
        metavar="NAME=A,B",
        help="another issue; list its values from your most to your least preferred",
    )
    p.add_argument(
        "--with",
        dest="with_peer",
        action="append",
        required=True,
        metavar="PEER",
        help="a partner (name or start of fingerprint, as 'edge-dan partners' lists; repeat)",
    )
    p.add_argument(
        "--deadline",
        type=seconds_option(0, MAX_DEADLINE),
        default=60.0,
        metavar="SEC",
        help="give up after SEC seconds (default 60)",
    )
    p.add_argument(
        "--protocol",
        choices=["mediated", "ao"],
        default="mediated",
        help="mediated (default) or ao: alternating offers, with one partner",
    )
    p.add_argument(
        "--wait",
        type=seconds_option(0, MAX_WAIT_SECONDS),
        default=30.0,
        metavar="SEC",
        help="how long to wait for the partners to be seen nearby (default 30)",
    )
    _interfaces(p)
