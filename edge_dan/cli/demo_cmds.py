"""``edge-dan demo``: N agents on this machine pair, decide twice and sign, with a report.

Nothing here needs root or touches the owner's own home: the demo's owners live in throwaway
homes under a temporary directory (removed at the end unless ``--keep DIR``). Where
``unshare --net --map-root-user`` works (an unprivileged user namespace), the command runs
itself again inside a private network namespace whose loopback carries real mDNS; elsewhere the
agents find each other through ``LoopbackNetwork`` (in-process discovery, real TCP sockets on
127.0.0.1). The outer process opens the report in a browser (``--open``), never the inner one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import webbrowser
from contextlib import ExitStack
from pathlib import Path

from edge_dan.cli.context import Context
from edge_dan.errors import EdgeDanError, UsageError

INSIDE = "EDGE_DAN_DEMO_NAMESPACE"  # set in the re-run inside the private network namespace
DEFAULT_REPORT = "edge-dan-demo.html"
NAMESPACE_ERROR = 75  # the inner run could not even start: fall back to loopback


class DemoFailed(EdgeDanError):
    """The demo ran but did not reach a verified accord (a bug, or a machine far too slow)."""

    exit_code = 1


def _unshare() -> list[str] | None:
    """The command prefix for a private network namespace, if this machine allows one."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    prefix = [unshare, "--net", "--map-root-user"]
    probe = subprocess.run([*prefix, "true"], check=False, capture_output=True)
    return prefix if probe.returncode == 0 else None


def _rerun_inside(prefix: list[str], argv: list[str]) -> int:
    """Run this demo again inside a fresh network namespace with its loopback up."""
    command = [*prefix, "sh", "-c", 'ip link set lo up && exec "$@"', "edge-dan-demo"]
    command += [
        sys.executable,
        "-c",
        "import sys; from edge_dan.cli.main import main; sys.exit(main(sys.argv[1:]))",
        *argv,
    ]
    return subprocess.run(command, env={**os.environ, INSIDE: "1"}, check=False).returncode


def _report_path(args: argparse.Namespace) -> Path:
    path = Path(args.report) if args.report else Path.cwd() / DEFAULT_REPORT
    parent = path.absolute().parent
    if not parent.is_dir():
        raise UsageError(f"--report: no directory {parent}")
    if path.is_dir():
        raise UsageError("--report names a directory; give a file name")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"--report: cannot write in {parent}")
    return path.absolute()


def _keep_path(args: argparse.Namespace) -> Path | None:
    if args.keep is None:
        return None
    keep = Path(args.keep).absolute()
    if keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
        raise UsageError("--keep: give a new or empty directory (nothing there is overwritten)")
    return keep


def cmd_demo(ctx: Context, args: argparse.Namespace) -> None:
    report = _report_path(args)
    keep = _keep_path(args)
    network = args.network
    if network in ("auto", "namespace") and os.environ.get(INSIDE) != "1":
        prefix = _unshare()
        if prefix is None and network == "namespace":
            raise UsageError(
                "--network namespace: this machine allows no private network namespace"
            )
        if prefix is not None:
            argv = [a for a in sys.argv[1:] if a != "--open"]
            code = _rerun_inside(prefix, argv)
            if code == 0 and args.open:
                webbrowser.open(report.as_uri())
            if code != 0:
                raise SystemExit(code)
            return
    if os.environ.get(INSIDE) == "1":
        network = "namespace"
    elif network == "auto":
        network = "loopback"
    _run(ctx, args, network, report, keep)
    if args.open and os.environ.get(INSIDE) != "1":
        webbrowser.open(report.as_uri())


def _run(
    ctx: Context, args: argparse.Namespace, network: str, report: Path, keep: Path | None
) -> None:
    import time

    from edge_dan.cli.demo.cast import CAST
    from edge_dan.cli.demo.report_html import render
    from edge_dan.cli.demo.stage import stage
    from edge_dan.cli.demo.story import NETWORKS, summarise
    from edge_dan.cli.demo.telling import tell

    def say(text: str) -> None:
        if not ctx.json:  # stdout holds the JSON object alone under --json
            print(text, flush=True)

    started = time.monotonic()
    say(f"Little Dan demo: {args.agents} agents on this machine; {NETWORKS[network]}.")
    with ExitStack() as stack:
        if keep is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="edge-dan-demo-")))
        else:
            keep.mkdir(parents=True, exist_ok=True, mode=0o700)
            home = keep
        staged = asyncio.run(stage(home, CAST[: args.agents], network, say))
        data = summarise(staged)
        for member in staged.members:
            member.owner.close()
    data["seconds"]["total"] = round(time.monotonic() - started, 2)
    data["report"] = str(report)
    data["kept"] = None if keep is None else str(keep)
    report.write_text(render(data), encoding="utf-8")
    text = tell(data)
    where = "removed" if keep is None else f"kept in {keep}"
    text += (
        f"\n\n6. Report: {report} (one self-contained page, nothing fetched from the network)"
        f"\n   The demo's homes are {where}. Took {data['seconds']['total']:.1f} s."
    )
    ctx.emit(data, text)
    if not all(d["agreement"] and d["accord"]["verified"] for d in data["decisions"]):
        raise DemoFailed("the demo did not reach a verified accord; see the trace above")
