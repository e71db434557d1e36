"""Network attacks on an agent (issue #14), replayed inside a network namespace this creates.

Run (as root): python bench/adversary.py [--attempts N] [--floods-only] [--no-files] [--json OUT]

The file attacks (crafted backups and key files against the real CLI: bench/adversary_files.py)
run first, then the network ones below.

The bench makes a one-node lab (tests/discovery/netns.py) and runs itself again inside it, so
every socket is on that namespace's own loopback: nothing reaches the host's network. Inside,
Alice and Bob are two paired agents (``LoopbackNetwork``, real TCP on 127.0.0.1, the real
handshake); the attacker is a separate process.

- Silent floods: the attacker keeps up to 64, then 600, TCP connections to Bob's advertised port
  open without sending a byte, reopening each one the listener drops, either paced at 7 new
  connections a second (the issue's attack) or as fast as it can; from another address
  (127.0.0.2) and then from Alice's own (127.0.0.1). Meanwhile Alice connects to Bob
  ``--attempts`` times: the share that succeeds and the handshake time (connect to an
  established session, advertising keys exchanged), against the same without a flood.
- A hostile mediator: Alice's agent sends Bob large agendas (10^6 outcomes each) with
  invitations that name no deadline, on six sessions, then says nothing while keeping the
  sessions alive; then two more whose sessions she drops at once. Measured: how many Bob joins
  and declines, the longest the event loop stalled, his memory, and when each joined
  negotiation ends (his policy's ``max_duration``, 5 s here) and is freed.
- Throughout: the process's RSS, and every error asyncio logged; at the end both agents stop
  with sessions still live, and the inside process's stderr must hold no traceback.

Every loop is bounded (attempt counts, phase durations, a connection budget for the attacker).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "discovery"))

# (connections kept open, from where, new connections per second: 0 = as fast as it can)
FLOODS = (
    (64, "127.0.0.2", 7),
    (64, "127.0.0.2", 0),
    (600, "127.0.0.2", 0),
    (64, "127.0.0.1", 7),
    (64, "127.0.0.1", 0),
    (600, "127.0.0.1", 0),
)
FLOOD_BUDGET = 20_000  # connections one flood may open in all
FLOOD_SECONDS = 600.0  # and for how long at most
MAX_DURATION = 5.0  # Bob's policy: the longest a negotiation he is invited to may run
BIG_VALUES = 1000  # two integer issues of 1000 values: 10^6 outcomes


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- the attacker (its own process) ---------------------------------------------------------------


async def flood(port: int, size: int, source: str, rate: float) -> dict[str, int]:
    """Keep up to ``size`` silent connections open from ``source``, opening at most ``rate`` a
    second (0: no limit), for at most ``FLOOD_SECONDS``."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    opened = dropped = 0
    loop = asyncio.get_running_loop()
    stop = loop.time() + FLOOD_SECONDS
    next_at = loop.time()

    async def paced() -> None:
        nonlocal next_at
        if rate:
            now = loop.time()
            next_at = max(next_at, now) + 1 / rate
            await asyncio.sleep(next_at - 1 / rate - now)

    async def one() -> None:
        nonlocal opened, dropped
        while loop.time() < stop and opened < FLOOD_BUDGET:
            await paced()
            try:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(source, 0)
                )
            except OSError:
                await asyncio.sleep(0.05)
                continue
            opened += 1
            try:
                if await reader.read(1) == b"":  # the listener dropped it
                    dropped += 1
            except OSError:
                dropped += 1
            finally:
                writer.transport.abort()

    workers = [asyncio.create_task(one()) for _ in range(size)]
    for signum in (signal.SIGTERM, signal.SIGINT):  # the bench's "stop now"
        loop.add_signal_handler(signum, lambda: [worker.cancel() for worker in workers])
    loop.call_later(FLOOD_SECONDS, lambda: [worker.cancel() for worker in workers])
    await asyncio.sleep(size / rate + 1.0 if rate else 1.0)  # paced: time to open them all
    print("ready", flush=True)
    await asyncio.gather(*workers, return_exceptions=True)
    return {"opened": opened, "dropped_by_listener": dropped}


# -- inside the namespace -------------------------------------------------------------------------


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class LoopLag:
    """The longest the event loop was late to wake a 10 ms sleeper (since the last reset)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, loop.time() - before - 0.01)

    def reset(self) -> float:
        worst, self.worst = self.worst, 0.0
        return worst

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def attempts(alice: Any, bob_id: bytes, count: int) -> dict[str, Any]:
    times: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        try:
            session = await asyncio.wait_for(alice.connect(bob_id), 15)
        except Exception:  # a failed attempt is what is counted
            continue
        times.append(time.perf_counter() - started)
        await session.channel.close()
    return {
        "ok": len(times),
        "of": count,
        "median_ms": round(statistics.median(times) * 1000, 1) if times else None,
        "max_ms": round(max(times) * 1000, 1) if times else None,
    }


async def with_flood(
    alice: Any, bob_id: bytes, port: int, attack: tuple[int, str, int], count: int
) -> dict[str, Any]:
    size, source, rate = attack
    attacker = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--flood", str(port), str(size), source, str(rate),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert attacker.stdout is not None
    assert await asyncio.wait_for(attacker.stdout.readline(), 30) == b"ready\n"
    result = await attempts(alice, bob_id, count)
    result["rss_mb"] = round(rss_mb(), 1)
    attacker.terminate()
    out, err = await attacker.communicate()
    result["attacker"] = json.loads(out.decode().strip() or "{}")
    result["attacker_stderr"] = err.decode()[-500:]
    return result


def big_space() -> Any:
    from edge_dan.negotiation.domain.outcomes import IntegerIssue, OutcomeSpace

    issues = [IntegerIssue(name, 0, BIG_VALUES - 1) for name in ("minute", "cents")]
    return OutcomeSpace(issues, max_cardinality=BIG_VALUES**2)


ON_AGENDA_SECONDS: list[float] = []  # how long Bob's own handler took (on the event loop)


def any_strategy(peer: Any, title: str, space: Any) -> Any:
    """Bob takes part in anything, preferring each issue's earlier values."""
    started = time.perf_counter()
    try:
        return _any_strategy(space)
    finally:
        ON_AGENDA_SECONDS.append(time.perf_counter() - started)


def _any_strategy(space: Any) -> Any:
    from edge_dan.negotiation.domain.utility import LinearAdditiveUtility, Profile
    from edge_dan.negotiation.strategy import LittleDan, Policy

    weights = {issue.name: 1.0 for issue in space.issues}
    tastes = {
        issue.name: {v: float(len(issue.values) - i) for i, v in enumerate(issue.values)}
        for issue in space.issues
    }
    utility = LinearAdditiveUtility(space, weights, tastes)
    profile = Profile(space, utility, reservation_value=0.5)
    return LittleDan(profile, policy=Policy(max_duration=MAX_DURATION))


async def hostile_mediator(alice: Any, bob: Any) -> dict[str, Any]:
    """Big agendas, invitations without a deadline, then silence (or a dropped session)."""
    from edge_dan.negotiation.accords.accord import space_digest
    from edge_dan.negotiation.protocols.agenda import agenda_for
    from edge_dan.negotiation.protocols.core import NO_NORMS
    from edge_dan.wire.messages.negotiation import Bids, Invite, Withdraw

    space = big_space()
    digest = space_digest(space)
    bob_id = bob.identity.public_key
    lag = LoopLag()
    rss_before = rss_mb()

    async def invite(n: int) -> tuple[Any, str]:
        session = await alice.connect(bob_id)
        nid = bytes([n]) * 16
        await session.channel.send(agenda_for(nid, f"big {n}", space))
        await session.channel.send(
            Invite(nid, (alice.identity.public_key, bob_id), digest, 20, 0, 8, 4, NO_NORMS)
        )
        answer = await asyncio.wait_for(session.channel.receive(), 30)
        kind = "joined" if isinstance(answer, Bids) else "declined"
        assert isinstance(answer, Bids | Withdraw)
        return session, kind

    dropped: list[tuple[str, float | None, str]] = []
    for n in (1, 2):
        session, kind = await invite(n)
        dropped_at = time.monotonic()
        await session.channel.close()  # the mediator leaves at once
        if kind == "joined":
            result = await asyncio.wait_for(bob.negotiations.results.get(), MAX_DURATION + 30)
            code = result.failure.code.name if result.failure else "-"
            dropped.append((kind, round(time.monotonic() - dropped_at, 3), code))
        else:
            dropped.append((kind, None, "-"))
    started = time.monotonic()
    kept = [await invite(n) for n in range(3, 9)]
    lag_joining = lag.reset()
    joined = sum(kind == "joined" for _, kind in kept)
    rss_peak = rss_mb()
    ended: list[tuple[float, str]] = []
    for _ in range(joined):
        result = await asyncio.wait_for(bob.negotiations.results.get(), MAX_DURATION + 30)
        ended.append((round(time.monotonic() - started, 2), result.failure.code.name))
    gc.collect()
    rss_after_silent = rss_mb()
    for session, _ in kept:
        await session.channel.close()
    gc.collect()
    await asyncio.sleep(0.5)
    result = {
        "silent": {
            "joined": joined,
            "declined": len(kept) - joined,
            "ended_after_s": ended,
            "loop_lag_max_ms": round(lag_joining * 1000, 1),
            "on_agenda_max_ms": round(max(ON_AGENDA_SECONDS, default=0) * 1000, 1),
            "rss_before_mb": round(rss_before, 1),
            "rss_with_joined_mb": round(rss_peak, 1),
            "rss_after_end_mb": round(rss_after_silent, 1),
        },
        "dropped": dropped,
        "rss_after_all_mb": round(rss_mb(), 1),
        "bob_joined_now": len(bob.negotiations._joined),
    }
    await lag.stop()
    return result


async def inside(count: int, *, mediator: bool) -> dict[str, Any]:
    from edge_dan.agent import Agent
    from edge_dan.agent.networks import LoopbackHub, LoopbackNetwork
    from edge_dan.owner import Owner
    from edge_dan.store import KdfParams

    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    kdf = KdfParams(1, 8 * 1024 * 1024, b"\0" * 16)
    home = Path(tempfile.mkdtemp(prefix="adversary-"))
    alice_owner = Owner.create(home / "alice", "pass", kdf=kdf.with_new_salt())
    bob_owner = Owner.create(home / "bob", "pass", kdf=kdf.with_new_salt())

    async def yes(code: str, fingerprint: str) -> str:
        return "partner"

    hub = LoopbackHub()
    alice = Agent(alice_owner, networks=[LoopbackNetwork(hub)], on_pairing=yes)
    bob = Agent(bob_owner, networks=[LoopbackNetwork(hub)], on_pairing=yes, on_agenda=any_strategy)
    report: dict[str, Any] = {}
    await alice.start()
    await bob.start()
    try:
        await bob.open_to_pairing(60)
        offer = await alice.wait_for_pairing_offer(10)
        await alice.pair(offer.key, yes)
        bob_id = bob.identity.public_key
        await alice.wait_for_partner(bob_id, 10)
        report["rss_start_mb"] = round(rss_mb(), 1)
        report["no_flood"] = await attempts(alice, bob_id, count)
        for attack in FLOODS if count else ():
            size, source, rate = attack
            pace = f"{rate}_per_s" if rate else "at_once"
            name = f"flood_{size}_{pace}_from_{source}"
            report[name] = await with_flood(alice, bob_id, bob.port, attack, count)
        if mediator:
            report["hostile_mediator"] = await hostile_mediator(alice, bob)
        await alice.wait_for_partner(bob_id, 10)
        live = [await alice.connect(bob_id) for _ in range(3)]  # left open on purpose
        report["live_sessions_at_stop"] = len(live)
    finally:
        await alice.stop()
        await bob.stop()
        alice_owner.close()
        bob_owner.close()
    report["asyncio_errors"] = errors.messages
    report["rss_end_mb"] = round(rss_mb(), 1)
    return report


# -- outside -------------------------------------------------------------------------------------


def outside(count: int, *, mediator: bool) -> dict[str, Any]:
    from netns import Lab

    with Lab(1, tag="adv") as lab:
        node = lab.nodes[0]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = lab.exec(
            node,
            [sys.executable, __file__, "--inside", str(count)]
            + ([] if mediator else ["--no-mediator"]),
            timeout=900,
            env=env,
            check=False,
        )
    if done.returncode != 0:
        sys.exit(f"the run inside the namespace failed:\n{done.stderr[-4000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["tracebacks_on_stderr"] = done.stderr.count("Traceback")
    report["stderr_tail"] = done.stderr[-2000:]
    report["machine"] = f"{platform.system()} {platform.release()} {platform.machine()}, " + (
        f"{os.cpu_count()} CPUs, CPython {platform.python_version()}, load {os.getloadavg()[0]:.1f}"
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attempts", type=int, default=20)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--floods-only", action="store_true", help="skip the hostile mediator (older versions)"
    )
    parser.add_argument(
        "--no-files", action="store_true", help="skip the file attacks (bench/adversary_files.py)"
    )
    parser.add_argument("--inside", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-mediator", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--flood", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flood:
        port, size, source, rate = args.flood
        stats = asyncio.run(flood(int(port), int(size), source, float(rate)))
        print(json.dumps(stats), flush=True)
        return
    if args.inside is not None:
        print(json.dumps(asyncio.run(inside(args.inside, mediator=not args.no_mediator))))
        return
    files: list[dict[str, object]] = []
    if not args.no_files:
        import adversary_files  # beside this script

        files = adversary_files.run()
        for r in files:
            verdict = "ok" if r["ok"] else "FAIL"
            print(f"file attack {r['attack']}: exit {r['exit_code']}, {verdict} ({r['note']})")
    report = outside(args.attempts, mediator=not args.floods_only)
    if files:
        report["file_attacks"] = files
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
