"""What ``edge-dan run`` costs on a device: its memory serving 10 partners, its CPU when idle.

Run: python bench/agent_run.py [--partners N] [--idle SECONDS] [--quick] [--shared-network]

A real ``edge-dan run`` process (value model loaded, policy auto) on a private network namespace's
loopback (``unshare --net``; ``--shared-network`` uses this host's loopback instead). This script
plays its partners: N agents on the public API (``edge_dan.Agent``, one process, one value
model), each with its own encrypted store and value profile. Each pairs with the running agent
for real: ``edge-dan pair --open --yes`` through its control socket on one side, ``Agent.pair``
on the other, and the script checks that both sides were shown the same six digits. Then all N
negotiate with it at once (free-text options its value model judges, and a budget), and each
keeps a session open to it. Read from /proc/PID of the ``run`` process:

- RSS (VmRSS) after start, after the negotiations, and after the idle window; peak (VmHWM);
- CPU (utime + stime of /proc/PID/stat) over an idle window alone (nobody else on the network)
  and over one while serving the N partners (sessions open, adverts and keepalives flowing).

Targets (issue #15): under 200 MB RSS serving 10 partners, under 1 % of one CPU when idle.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from edge_dan import (
    Agent,
    DiscreteIssue,
    KdfParams,
    LanNetwork,
    OutcomeSpace,
    Owner,
    PartnerSession,
    TextIssue,
    ValueModel,
    strategy_for,
)

REPO = Path(__file__).resolve().parents[1]
PASSPHRASE = "bench passphrase"
RSS_TARGET_MB = 200.0
CPU_TARGET_PERCENT = 1.0
TICKS = os.sysconf("SC_CLK_TCK")
INTERFACE = "127.0.0.1"
HANDSHAKES_PER_ADDRESS = 8  # the listener's default bound on handshakes from one address
OPTIONS = (
    "Cook dinner together for the neighbours",
    "Spend the evening at a loud bar downtown",
    "A long walk in the park and an early night",
)
SPACE = OutcomeSpace(
    [TextIssue("evening", OPTIONS), DiscreteIssue("budget", ("0 EUR", "20 EUR", "50 EUR"))],
    name="Friday",
)
# Partners differ in what they care about, so the negotiations are not all the same.
PROFILES = (
    {"benevolence": 0.9, "hedonism": 0.3},
    {"stimulation": 0.9, "hedonism": 0.8},
    {"tradition": 0.8, "security": 0.7},
    {"achievement": 0.8, "power": 0.4},
    {"universalism": 0.9, "self_direction": 0.6},
)


@dataclass
class Usage:
    """One reading of /proc/PID: memory in kB, CPU time in clock ticks."""

    rss_kb: int
    peak_kb: int
    cpu_ticks: int
    cpu_ns: int  # the same time from the scheduler (all threads), to the nanosecond
    wakeups: int  # voluntary context switches of all threads: how often it slept and woke
    at: float  # time.monotonic() of the reading


def usage(pid: int) -> Usage:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    # /proc/PID/stat: the command name (field 2) may hold spaces, so split after its ')'.
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(stat[11]), int(stat[12])  # fields 14 and 15 of proc(5)
    # Ticks are 10 ms: over a short window an idle process shows 0, so the scheduler's count
    # (first field of each thread's schedstat) says how far below a tick it is.
    threads = list(Path(f"/proc/{pid}/task").iterdir())
    cpu_ns = sum(int((thread / "schedstat").read_text().split()[0]) for thread in threads)
    wakeups = 0
    for thread in threads:
        for line in (thread / "status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                wakeups += int(line.split()[1])
    return Usage(
        rss_kb=int(fields["VmRSS"].split()[0]),
        peak_kb=int(fields["VmHWM"].split()[0]),
        cpu_ticks=utime + stime,
        cpu_ns=cpu_ns,
        wakeups=wakeups,
        at=time.monotonic(),
    )


def cpu_percent(before: Usage, after: Usage) -> float:
    """Share of one CPU used between two readings, in percent (utime + stime)."""
    return 100.0 * (after.cpu_ticks - before.cpu_ticks) / TICKS / (after.at - before.at)


def cpu_percent_ns(before: Usage, after: Usage) -> float:
    """The same share from the scheduler's nanoseconds."""
    return 100.0 * (after.cpu_ns - before.cpu_ns) / 1e9 / (after.at - before.at)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def mb(kb: int) -> float:
    return kb / 1024


def edge_dan(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "edge_dan.cli.main", "--home", str(home), *args]


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_DAN_")}
    return {**env, "EDGE_DAN_PASSPHRASE": PASSPHRASE, "PYTHONPATH": str(REPO)}


def start_run(home: Path) -> subprocess.Popen[str]:
    """``edge-dan run`` with the value model, once its control socket is there."""
    for args in (("init", "--unlock-time", "0.01"), ("profile", "set", "benevolence=0.8")):
        subprocess.run(edge_dan(home, *args), env=cli_env(), check=True, capture_output=True)
    log = (home / "run.log").open("w")
    agent = subprocess.Popen(
        edge_dan(home, "--json", "run", "--interface", INTERFACE),
        env=cli_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while '"control-socket"' not in (home / "run.log").read_text():
        if agent.poll() is not None or time.monotonic() > deadline:
            agent.kill()
            raise SystemExit(f"edge-dan run did not start:\n{(home / 'run.log').read_text()}")
        time.sleep(0.2)
    return agent


async def pair(home: Path, partner: Agent, name: str) -> bytes:
    """The running agent opens pairing (through its control socket); ``partner`` finds the offer
    and pairs. Numeric comparison: the script compares the digits each side was shown."""
    opening = await asyncio.create_subprocess_exec(
        *edge_dan(home, "--json", "pair", "--open", "60", "--yes", "--name", name),
        env=cli_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert opening.stderr is not None and opening.stdout is not None
    said = b""
    while b"Open to pairing" not in said:
        line = await asyncio.wait_for(opening.stderr.readline(), 60)
        if not line:
            raise SystemExit(f"pair --open did not open: {said.decode()}")
        said += line
    shown: list[str] = []

    async def confirm(code: str, fingerprint: str) -> str:
        shown.append(code)
        return "the running agent"

    offer = await partner.wait_for_pairing_offer(timeout=30)
    peer = await partner.pair(offer.key, confirm)
    out, err = await opening.communicate()
    if opening.returncode != 0:
        raise SystemExit(f"pair --open failed: {err.decode()}")
    theirs = json.loads(out)["paired"]["code"]
    if shown != [theirs]:
        raise SystemExit(f"the two sides were shown different codes: {shown} and {theirs}")
    return peer.identity_key


async def negotiate(
    partner: Agent, model: ValueModel, key: bytes, admitted: asyncio.Semaphore
) -> bool:
    strategy = strategy_for(partner.owner, SPACE, model)
    async with admitted:
        result = await partner.negotiate([key], "Friday", SPACE, strategy, timeout=120)
    return result.accord is not None


async def idle(pid: int, seconds: float) -> tuple[Usage, Usage]:
    before = usage(pid)
    await asyncio.sleep(seconds)
    return before, usage(pid)


def report_idle(label: str, window: tuple[Usage, Usage]) -> float:
    percent = cpu_percent(*window)
    seconds = window[1].at - window[0].at
    ticks = window[1].cpu_ticks - window[0].cpu_ticks
    precise = cpu_percent_ns(*window)
    wakeups = (window[1].wakeups - window[0].wakeups) / seconds
    print(
        f"{label:<34} {percent:6.2f} % of one CPU ({ticks} ticks of 1/{TICKS} s in"
        f" {seconds:.1f} s; {percent / CPU_TARGET_PERCENT:.2f}x the 1 % target);"
        f" scheduler: {precise:.3f} %, {wakeups:.1f} wakeups/s"
    )
    return percent


async def bench(tmp: Path, count: int, idle_seconds: float, settle: float) -> dict[str, float]:
    home = tmp / "run"
    agent_process = start_run(home)
    pid = agent_process.pid
    partners: list[Agent] = []
    sessions: list[PartnerSession] = []
    figures: dict[str, float] = {}
    try:
        await asyncio.sleep(settle)
        started = usage(pid)
        print(f"RSS after start (model loaded)      {mb(started.rss_kb):7.1f} MB")
        figures["idle_alone_cpu_percent"] = report_idle(
            "CPU idle, alone", await idle(pid, idle_seconds)
        )

        model = ValueModel.load()
        kdf = KdfParams.fresh(2, 16 * 1024 * 1024)  # quick to unlock: the bench is not the KDF
        for number in range(count):
            owner = Owner.create(tmp / f"partner{number}", PASSPHRASE, kdf=kdf)
            owner.profile.edit(PROFILES[number % len(PROFILES)], note="bench")
            agent = Agent(owner, networks=[LanNetwork(interfaces=[INTERFACE])], value_model=model)
            await agent.start()
            partners.append(agent)
        clock = time.monotonic()
        keys = [await pair(home, p, f"partner {n + 1}") for n, p in enumerate(partners)]
        print(
            f"paired {count} partners by numeric comparison (codes checked) in"
            f" {time.monotonic() - clock:.1f} s"
        )

        # One after the other: the listener admits at most 8 handshakes in progress from one
        # address (HandshakeLimits.max_per_source), and every partner here is 127.0.0.1.
        for partner, key in zip(partners, keys, strict=True):
            await partner.wait_for_partner(key, timeout=60)
            sessions.append(await partner.connect(key))
        clock = time.monotonic()
        admitted = asyncio.Semaphore(HANDSHAKES_PER_ADDRESS)
        agreed = await asyncio.gather(
            *(negotiate(p, model, key, admitted) for p, key in zip(partners, keys, strict=True))
        )
        print(
            f"{count} negotiations ({HANDSHAKES_PER_ADDRESS} at a time at most), {count} sessions"
            f" open: {sum(agreed)} agreed, in {time.monotonic() - clock:.1f} s"
        )
        await asyncio.sleep(settle)
        serving = usage(pid)
        figures["serving_cpu_percent"] = report_idle(
            f"CPU idle, {count} sessions open", await idle(pid, idle_seconds)
        )
        steady = usage(pid)
        still_open = sum(not s.channel.has_ended() for s in sessions)
        print(f"sessions still open after the idle window: {still_open} of {count}")
        if agent_process.poll() is not None:
            raise SystemExit("edge-dan run exited during the bench")
    finally:
        for session in sessions:
            await session.channel.close()
        for agent in partners:
            await agent.stop()
        agent_process.terminate()
        agent_process.wait(timeout=60)

    figures["rss_start_mb"] = mb(started.rss_kb)
    figures["rss_serving_mb"] = mb(serving.rss_kb)
    figures["rss_steady_mb"] = mb(steady.rss_kb)
    figures["rss_peak_mb"] = mb(steady.peak_kb)
    for label, figure in (
        (f"RSS after {count} negotiations", "rss_serving_mb"),
        ("RSS after the idle window", "rss_steady_mb"),
        ("RSS peak (VmHWM)", "rss_peak_mb"),
    ):
        print(
            f"{label:<34} {figures[figure]:7.1f} MB ({figures[figure] / RSS_TARGET_MB:.2f}x"
            f" the {RSS_TARGET_MB:.0f} MB target)"
        )
    print(f"exit code of edge-dan run on SIGTERM: {agent_process.returncode}")
    return figures


def isolate() -> int | None:
    """Re-run this script in a private network namespace with its own loopback, if possible."""
    if os.environ.get("EDGE_DAN_BENCH_NETNS") == "1" or not shutil.which("unshare"):
        return None
    unshare = [shutil.which("unshare") or "unshare", "--net", "--map-root-user"]
    if subprocess.run([*unshare, "true"], check=False, capture_output=True).returncode != 0:
        print("no private network namespace here: using this host's loopback")
        return None
    command = [*unshare, "sh", "-c", 'ip link set lo up && exec "$@"', "bench"]
    env = {**os.environ, "EDGE_DAN_BENCH_NETNS": "1"}
    return subprocess.run([*command, sys.executable, *sys.argv], env=env, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, help="partners served (default 10; 3 with --quick)")
    parser.add_argument("--idle", type=float, default=60.0, help="idle window, s (default 60)")
    parser.add_argument(
        "--quick", action="store_true", help="a short run: 10 s idle windows, 3 partners"
    )
    parser.add_argument(
        "--shared-network", action="store_true", help="do not isolate; use this host's loopback"
    )
    args = parser.parse_args()
    count = (3 if args.quick else 10) if args.partners is None else args.partners
    idle_seconds = 10.0 if args.quick else args.idle
    if count < 1 or idle_seconds <= 0:
        parser.error("--partners and --idle must be positive")
    if isinstance(sys.stdout, io.TextIOWrapper):  # each figure as soon as it is measured
        sys.stdout.reconfigure(line_buffering=True)
    if not args.shared_network and (code := isolate()) is not None:
        return code
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]},"
        f" load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="edge-dan-bench-run-") as tmp:
        asyncio.run(bench(Path(tmp), count, idle_seconds, settle=3.0 if args.quick else 10.0))
    print(f"load average at the end {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
