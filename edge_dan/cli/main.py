"""Entry point of ``edge-dan``: argument parsing and the one place errors become exit codes."""

from __future__ import annotations

import argparse
import io
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from edge_dan import __version__
from edge_dan.cli import (
    accords_cmds,
    demo_cmds,
    model_cmds,
    partners_cmds,
    peers_cmds,
    profile_cmds,
    store_cmds,
)
from edge_dan.cli.agent_args import add_agent_commands
from edge_dan.cli.context import DEFAULT_UNLOCK, Context, unlock_time
from edge_dan.cli.hints import message
from edge_dan.cli.numbers import LARGEST_ID, seconds_option, whole_option
from edge_dan.errors import EdgeDanError, UsageError
from edge_dan.store.home import check_home, resolve_home
from edge_dan.values.schwartz import ORIGINAL_VALUES

Handler = Callable[[Context, argparse.Namespace], None]
INTERNAL_ERROR = 70  # EX_SOFTWARE
MAX_ROUNDS = 1000  # feedback --ask questions: far more than anyone answers in one sitting
MAX_LISTEN_SECONDS = 7 * 24 * 3600.0  # peers --time: a week; --watch alone listens forever


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line, like every other error of the command."""

    def error(self, message: str) -> NoReturn:
        # argparse prints the usage first; one line keeps stderr uniform for people and scripts
        # (exit 2 as before), and the usage stays one --help away.
        command = self.prog.removeprefix("edge-dan").strip()
        where = f"{command}: " if command else ""
        self.exit(2, f"edge-dan: error: {where}{message} (see '{self.prog} --help')\n")


def _global_options(defaults: bool) -> argparse.ArgumentParser:
    # The same options on the top parser and on every subcommand, so both
    # "edge-dan --json whoami" and "edge-dan whoami --json" work. Subcommands use SUPPRESS so
    # an option given before the subcommand is not reset by the subcommand's default.
    keep = (lambda value: value) if defaults else (lambda value: argparse.SUPPRESS)
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--home",
        metavar="DIR",
        default=keep(None),
        help="the store's directory (default: $EDGE_DAN_HOME or the user data dir)",
    )
    parent.add_argument(
        "--json", action="store_true", default=keep(False), help="machine-readable output"
    )
    parent.add_argument("--debug", action="store_true", default=keep(False), help="show tracebacks")
    return parent


def _model_commands(
    command: Callable[..., argparse.ArgumentParser],
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """score, feedback, contest and model info (edge_dan.cli.model_cmds)."""

    def tiered(p: argparse.ArgumentParser) -> None:
        p.add_argument("--tier", help="value model tier (default: minilm-int8)")

    p = command("score", model_cmds.cmd_score, "rank options by your values, with reasons")
    p.add_argument("options", nargs="+", metavar="OPTION")
    p.add_argument(
        "--top",
        type=whole_option(1, len(ORIGINAL_VALUES)),
        default=3,
        metavar="N",
        help="values shown for and against",
    )
    tiered(p)
    p = command("feedback", model_cmds.cmd_feedback, "teach your preferences; list or undo them")
    p.add_argument("--prefer", metavar="A", help="the option you prefer ...")
    p.add_argument("--over", metavar="B", help="... over this one")
    p.add_argument("--list", action="store_true", help="your answers and what was learned")
    p.add_argument(
        "--ask",
        nargs="+",
        metavar="OPTION",
        help="let Little Dan ask which of these you would rather do (the most telling pairs)",
    )
    p.add_argument(
        "--rounds",
        type=whole_option(1, MAX_ROUNDS),
        metavar="N",
        help="with --ask: questions at most (default 3)",
    )
    p.add_argument(
        "--undo", nargs="?", const="last", metavar="N", help="forget answer N (or the last)"
    )
    tiered(p)
    p = command(
        "contest", model_cmds.cmd_contest, "say a refused option is not harmful; list or withdraw"
    )
    p.add_argument("option", nargs="?", metavar="OPTION", help="the refused option's exact text")
    p.add_argument("--note", help="why it is not harmful (kept with the contest)")
    p.add_argument("--list", action="store_true", help="every contested refusal")
    p.add_argument("--withdraw", metavar="N", help="withdraw contest N")
    tiered(p)
    model = commands.add_parser("model", help="the value model", parents=[common])
    sub = model.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    p = command("info", model_cmds.cmd_model_info, "tier, size, hash and validation figures", sub)
    tiered(p)


def build_parser() -> argparse.ArgumentParser:
    common = _global_options(defaults=False)
    # Typed as the base class: subcommand parsers are made by argparse as the same class.
    parser: argparse.ArgumentParser = _Parser(
        prog="edge-dan",
        description="Little Dan: your own agent, on your own device.",
        parents=[_global_options(defaults=True)],
    )
    parser.add_argument("--version", action="version", version=f"edge-dan {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(
        name: str,
        handler: Handler,
        help_text: str,
        sub: argparse._SubParsersAction[argparse.ArgumentParser] = commands,
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        p.set_defaults(handler=handler)
        return p

    def timed(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument(
            "--unlock-time",
            type=unlock_time,
            default=DEFAULT_UNLOCK,
            metavar="SEC",
            help=f"seconds one {what} should cost on this machine (default 0.5)",
        )

    p = command("init", store_cmds.cmd_init, "create a new encrypted store and identity")
    timed(p, "unlock")
    p.add_argument("--keyring", action="store_true", help="keep the passphrase in the OS keyring")
    command("whoami", store_cmds.cmd_whoami, "show this agent's fingerprint and keys")
    p = command("passwd", store_cmds.cmd_passwd, "change the passphrase")
    timed(p, "unlock")
    command("rekey", store_cmds.cmd_rekey, "replace the database key and re-encrypt every page")
    p = command("export", store_cmds.cmd_export, "write an encrypted backup")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    timed(p, "backup unlock")
    p = command(
        "import",
        store_cmds.cmd_import,
        "restore an encrypted backup; a new store gets its own passphrase ($EDGE_DAN_PASSPHRASE "
        "or asked), not the backup's",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--replace", action="store_true", help="replace the store that is there")
    timed(p, "unlock (new store only)")
    p = command("keyring", store_cmds.cmd_keyring, "keep the passphrase in the OS keyring, or not")
    p.add_argument("action", choices=["enable", "disable"])
    command("check", store_cmds.cmd_check, "verify every page of the store")

    profile = commands.add_parser("profile", help="your value profile", parents=[common])
    sub = profile.add_subparsers(dest="profile_command", metavar="ACTION", required=True)
    command("show", profile_cmds.cmd_show, "chart of your 10 values", sub)
    p = command("quiz", profile_cmds.cmd_quiz, "answer the value questionnaire", sub)
    p.add_argument("--answers", metavar="FILE", help="JSON answers instead of asking")
    p = command("set", profile_cmds.cmd_set, "set value weights, e.g. benevolence=0.8", sub)
    p.add_argument("assignments", nargs="+", metavar="VALUE=WEIGHT")
    p.add_argument("--note", help="why (kept in the history)")
    p = command("history", profile_cmds.cmd_history, "how your profile changed", sub)
    p.add_argument(
        "--limit", type=whole_option(1, LARGEST_ID), metavar="N", help="only the last N changes"
    )

    _model_commands(command, commands, common)
    p = command("peers", peers_cmds.cmd_peers, "agents nearby: partners and strangers")
    p.add_argument(
        "--watch", action="store_true", help="print arrivals and departures as they happen"
    )
    p.add_argument(
        "--time",
        type=seconds_option(0, MAX_LISTEN_SECONDS),
        metavar="SEC",
        help="listen this long (default 3; --watch: forever)",
    )
    p.add_argument(
        "--interface",
        action="append",
        metavar="IF",
        help="interface name or IPv4 address to listen on (repeatable; default: all but lo)",
    )
    p.add_argument("--no-ble", action="store_true", help="do not scan over Bluetooth LE")
    _partner_commands(command, commands, common)
    add_agent_commands(command)  # run, pair, negotiate (edge_dan.cli.agent_args)
    _accord_commands(command, commands, common)
    _demo_command(command)
    return parser


def _accord_commands(
    command: Callable[..., argparse.ArgumentParser],
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """accords list, show, verify and export (edge_dan.cli.accords_cmds)."""
    about = "the signed accords you are party to: list (the default), show, verify, export"
    accords = commands.add_parser("accords", help=about, description=about, parents=[common])
    accords.set_defaults(handler=accords_cmds.cmd_list)
    sub = accords.add_subparsers(dest="accords_command", metavar="ACTION")
    id_help = "the accord's id or its start, at least 4 hex digits (as 'accords' shows)"
    command("list", accords_cmds.cmd_list, "id, date, status, partners and terms", sub)
    p = command("show", accords_cmds.cmd_show, "terms, parties, signatures of one accord", sub)
    p.add_argument("accord_id", metavar="ID", help=id_help)
    p = command(
        "verify",
        accords_cmds.cmd_verify,
        "check every party's signature, offline; a FILE needs no store and no passphrase"
        " (exit 1 unless the accord verifies)",
        sub,
    )
    p.add_argument("file", metavar="FILE|ID", help="an exported accord, or a stored accord's id")
    p = command(
        "export",
        accords_cmds.cmd_export,
        "write the accord's signed bytes (canonical CBOR) to FILE, for anyone to verify",
        sub,
    )
    p.add_argument("accord_id", metavar="ID", help=id_help)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")


def _demo_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    """edge-dan demo (edge_dan.cli.demo_cmds)."""
    p = command(
        "demo",
        demo_cmds.cmd_demo,
        "a few Little Dans on this machine pair, decide and sign an accord; writes a report",
    )
    p.add_argument(
        "--agents",
        type=whole_option(2, 8),
        default=3,
        metavar="N",
        help="how many agents, each with its own owner (2 to 8, default 3)",
    )
    p.add_argument(
        "--report",
        metavar="FILE",
        help="where to write the HTML report (default: edge-dan-demo.html here)",
    )
    p.add_argument("--open", action="store_true", help="open the report in your browser")
    p.add_argument(
        "--keep", metavar="DIR", help="keep the agents' homes in DIR (new or empty) to look at"
    )
    p.add_argument(
        "--network",
        choices=["auto", "namespace", "loopback"],
        default="auto",
        help="auto (default): real mDNS in a private network namespace where the system allows"
        " one, else loopback (in-process discovery, TCP on 127.0.0.1)",
    )


def _partner_commands(
    command: Callable[..., argparse.ArgumentParser],
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """partners list, rename and unpair (edge_dan.cli.partners_cmds)."""
    about = "the agents you are paired with: list (the default), rename, unpair"
    partners = commands.add_parser("partners", help=about, description=about, parents=[common])
    partners.set_defaults(handler=partners_cmds.cmd_list)
    sub = partners.add_subparsers(dest="partners_command", metavar="ACTION")
    peer_help = "the partner's name or the start of its fingerprint (as 'partners' shows)"
    command("list", partners_cmds.cmd_list, "name, fingerprint, when and how paired", sub)
    p = command("rename", partners_cmds.cmd_rename, "give a partner another name", sub)
    p.add_argument("peer", metavar="PEER", help=peer_help)
    p.add_argument("name", metavar="NEWNAME", help="1 to 64 characters, not another partner's")
    p = command(
        "unpair",
        partners_cmds.cmd_unpair,
        "forget a partner: its keys are deleted and your advertising key is replaced, so it no"
        " longer recognises you (asks first on a terminal)",
        sub,
    )
    p.add_argument("peer", metavar="PEER", help=peer_help)
    p.add_argument(
        "--yes", action="store_true", help="do not ask (needed without a terminal, e.g. scripts)"
    )


# Arguments that name files: any bytes the file system allows, UTF-8 or not.
PATH_ARGUMENTS = frozenset({"home", "file", "answers", "report", "keep"})


def _tolerate_undecodable_bytes() -> None:
    # Bytes that are not UTF-8 reach Python as lone surrogates (surrogateescape), in argv and
    # the environment always, and from stdin here too instead of a UnicodeDecodeError mid-read:
    # an answer holding them is simply not a valid answer, and a passphrase holding them is
    # refused by name (edge_dan.unlock). stdout writes them back as the bytes they were (a home
    # path, say), as Python itself does under the C locale.
    for stream in (sys.stdin, sys.stdout):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="surrogateescape")


def _check_text_arguments(args: argparse.Namespace) -> None:
    """``UsageError`` for an argument that should be text but holds bytes that are not UTF-8
    (an option, a note, a value name...), before it reaches the store or the model."""
    for name, value in vars(args).items():
        if name in PATH_ARGUMENTS:
            continue
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and not _is_utf8_text(text):
                # Not repeated: option texts and notes are private (they stay off stderr).
                raise UsageError(f"{name.replace('_', '-')}: not valid UTF-8 text")


def _is_utf8_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    _tolerate_undecodable_bytes()
    args = build_parser().parse_args(argv)
    debug = bool(args.debug)
    try:
        _check_text_arguments(args)
        home = resolve_home(args.home)
        check_home(home)
        ctx = Context(home=home, json=bool(args.json), debug=debug)
        handler: Handler = args.handler
        handler(ctx, args)
    except EdgeDanError as exc:
        if debug:
            traceback.print_exc()
        print(f"edge-dan: error: {message(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("edge-dan: interrupted; nothing was saved", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so briefly, details on request
        if debug:
            traceback.print_exc()
        print(
            f"edge-dan: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return INTERNAL_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
